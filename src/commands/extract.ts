import { createWriteStream } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import type { Writable } from 'node:stream'
import { createGzip } from 'node:zlib'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { UsageError } from '../errors.js'
import { type ExtractResult, extract } from '../pipeline/extract.js'
import { selectionFlags, selectionFromFlags } from '../selection-flags.js'

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
    const client = await this.coincapClient({ demo: this.flags.demo })
    const output = this.flags.output
    // Written under a temporary name and renamed at the end, so a failed extract never leaves a partial file.
    const partial = output ? `${output}.partial` : undefined
    let sink: Writable = process.stdout
    let file: Writable | undefined
    if (partial) {
      file = createWriteStream(partial)
      sink = output?.endsWith('.gz') ? createGzip() : file
      if (sink !== file) sink.pipe(file)
    }
    let result: ExtractResult
    try {
      result = await extract(client, selectionFromFlags(this.flags), sink)
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
      throw error
    }
    const summary = `extracted ${result.answers} answers (${Object.entries(result.records)
      .map(([d, n]) => `${d} ${n}`)
      .join(', ')}); ${result.api.requests} requests, ~${result.api.credits} credits`
    this.logger.info(summary)
    return { ...result, output: output ?? '-' }
  }
}
