import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { allowDemoFlag, checkDemoTarget } from '../demo/guard.js'
import { UsageError } from '../core/errors.js'
import { openLanding } from '../pipeline/landing.js'
import { type LoadResult, loadLandingFile } from '../pipeline/load.js'
import { plural } from '../ui/format.js'
import { VERSION } from '../core/version.js'
import { BULK_ANSWER_TIMEOUT_SECONDS } from '../warehouse/connection/connect.js'

export default class Load extends BaseCommand<typeof Load> {
  static override databaseAnswerSeconds = BULK_ANSWER_TIMEOUT_SECONDS
  static override summary =
    'Load NDJSON written by extract (a file, .gz, or - for stdin); loading twice changes nothing.'
  static override description =
    'The whole file loads in one transaction: a broken line is reported with its line number (exit 65) and nothing from the file is loaded. Records that fail validation go to rejected_records; the rest of their answer loads.'
  static override examples = [
    '<%= config.bin %> load snapshot.ndjson',
    '<%= config.bin %> load assets.ndjson.gz --database-url postgres://etl@db:5432/market',
    'cat snapshot.ndjson | <%= config.bin %> load -',
  ]
  static override flags = { 'allow-demo': allowDemoFlag }
  static override args = {
    file: Args.string({ description: 'Landing file (plain or gzip), or - for stdin.', default: '-' }),
  }

  async run(): Promise<LoadResult> {
    const file = this.args.file
    // Without a file, stdin is read; at a terminal that would wait silently for input nobody types.
    if (file === '-' && process.stdin.isTTY) {
      throw new UsageError(
        'load needs a landing file: give its path, or pipe one in.',
        'e.g. crypto-etl load snapshot.ndjson, or crypto-etl extract | crypto-etl load -',
      )
    }
    const input = await openLanding(file, this.abortController.signal)
    const name = file === '-' ? 'stdin' : file
    const warehouse = await this.openWarehouse()
    const result = await loadLandingFile(warehouse, input, {
      name,
      version: VERSION,
      signal: this.abortController.signal,
      onStarted: (runId) => this.logger.debug('load started', { run: runId, source: file }),
      onDemo: (line) =>
        checkDemoTarget(this.settings, this.flags['allow-demo'], `${name} line ${line} (from extract --demo)`),
    })
    const rows = Object.entries(result.rows)
      .map(([d, n]) => `${d} +${n}`)
      .join(', ')
    this.summary(
      `${result.demo ? '[demo] ' : ''}loaded ${plural(result.lines, 'answer')} from ${name}: ${rows || 'nothing'}; ${result.rejected} rejected (run ${result.runId})`,
      'load finished',
      {
        run_id: result.runId,
        status: 'ok',
        answers: result.lines,
        rows: result.rows,
        rejected: result.rejected,
        requests: result.api.requests,
        credits: result.api.credits,
        demo: result.demo,
      },
    )
    return result
  }
}
