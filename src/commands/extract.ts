import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { createGzip } from 'node:zlib'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { EtlError, ExitCode, UsageError } from '../core/errors.js'
import { type ExtractResult, extract } from '../pipeline/extract.js'
import { selectionFlags, selectionFromFlags } from '../cli/selection-flags.js'
import { plural } from '../ui/format.js'

export default class Extract extends BaseCommand<typeof Extract> {
  static override summary = 'Fetch the chosen datasets and write the raw answers as NDJSON; nothing is loaded.'
  static override description =
    'One line per CoinCap answer, kept whole, in the landing format that `load` reads. A file ending in .gz is gzipped. The file appears only when the extract succeeded.'
  static override examples = [
    '<%= config.bin %> extract --output snapshot.ndjson',
    '<%= config.bin %> extract --datasets assets --limit 2000 --output assets.ndjson.gz',
    '<%= config.bin %> extract --demo | <%= config.bin %> load -',
  ]
  static override flags = {
    ...selectionFlags,
    output: Flags.string({ char: 'o', summary: 'Write to this file instead of stdout (.gz: gzipped).' }),
  }

  async run(): Promise<ExtractResult & { output: string }> {
    if (this.jsonEnabled() && !this.flags.output) {
      throw new UsageError('--json needs --output: stdout carries the landing data.')
    }
    const output = this.flags.output
    // Before the output is opened: a missing key must not leave a partial file behind.
    const client = await this.coincapClient({ demo: this.flags.demo })
    // Written under a temporary name and renamed at the end, so a failed extract never leaves a partial file.
    const partial = output ? `${output}.partial` : undefined
    let sink: Writable = process.stdout
    let file: Writable | undefined
    if (output && partial) {
      // Opened before anything is fetched: a wrong path costs no request.
      file = await openOutput(output, partial)
      sink = output.endsWith('.gz') ? createGzip() : file
      if (sink !== file) {
        sink.pipe(file)
        file.on('error', (error) => sink.destroy(writeFailed(output, error)))
      }
    }
    let result: ExtractResult
    try {
      result = await extract(client, selectionFromFlags(this.flags), sink, { demo: this.flags.demo })
      if (file && partial && output) {
        await new Promise<void>((resolve, reject) => {
          file.once('finish', resolve).once('error', reject)
          sink.end()
        })
        await rename(partial, output)
      }
    } catch (error) {
      if (partial) {
        file?.destroy()
        await rm(partial, { force: true })
      }
      const fsError = output && (error as NodeJS.ErrnoException).syscall !== undefined && !(error instanceof EtlError)
      throw fsError ? writeFailed(output, error as NodeJS.ErrnoException) : error
    }
    const summary = `extracted ${plural(result.answers, 'answer')} (${Object.entries(result.records)
      .map(([d, n]) => `${d} ${n}`)
      .join(', ')}); ${plural(result.api.requests, 'request')}, ~${plural(result.api.credits, 'credit')}`
    // On stderr in both formats: stdout may carry the landing data.
    const fields = { status: 'ok', exit_code: 0, answers: result.answers, records: result.records }
    if (this.settings.logFormat === 'json') {
      this.logger.info('extract finished', { ...fields, requests: result.api.requests, credits: result.api.credits })
    } else this.logger.info(summary)
    return { ...result, output: output ?? '-' }
  }
}

/** Creates `partial`, failing with exit 2 and the reason when the folder is missing or not writable. */
async function openOutput(output: string, partial: string): Promise<Writable> {
  const file = createWriteStream(partial)
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve())
    file.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UsageError(`Cannot write ${output}: ${error.code ?? error.message}.`, 'Choose a writable path.')),
    )
  })
  // Later failures (a full disk) surface through the writes; this listener keeps them from crashing the process.
  file.on('error', () => {})
  return file
}

/** Exit 74: the landing file could not be written (a full disk, say). */
function writeFailed(output: string, error: NodeJS.ErrnoException): EtlError {
  return new EtlError(`Cannot write ${output}: ${error.code ?? error.message}.`, ExitCode.database)
}
