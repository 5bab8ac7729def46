import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { allowDemoFlag, checkDemoTarget } from '../demo/guard.js'
import { type RunResult, runSnapshot } from '../pipeline/run.js'
import { selectionFlags, selectionFromFlags } from '../cli/selection-flags.js'
import { formatRunSummary, interactive, runProgress, runSummaryFields } from '../ui/run.js'
import { VERSION } from '../core/version.js'
import { DataDirLockedError } from '../warehouse/embedded/embedded.js'

export default class Run extends BaseCommand<typeof Run> {
  static override summary = 'Extract and load one snapshot of the chosen datasets: the cron entry point.'
  static override description =
    'Each dataset loads in its own transaction; one failing dataset leaves the others loaded (exit 3). A second run while one is in progress exits 0 at once and says it skipped. Migrates the warehouse on first use.'
  static override examples = [
    '<%= config.bin %> run --demo',
    '<%= config.bin %> run',
    '<%= config.bin %> run --datasets assets,rates --limit 500',
    '<%= config.bin %> run --assets bitcoin,ethereum --env-file ~/.config/crypto-etl/env',
    '<%= config.bin %> run --datasets markets --markets-exchange binance',
  ]
  static override flags = {
    ...selectionFlags,
    'allow-demo': allowDemoFlag,
    // Only recorded (etl_runs.args): status --max-age watches the datasets of scheduled runs, not ad-hoc ones.
    scheduled: Flags.boolean({
      summary:
        'Mark this run as one of the schedule (the lines `schedule` writes have it): status --max-age watches their datasets.',
    }),
  }

  async run(): Promise<RunResult> {
    const demo = this.flags.demo
    if (demo) checkDemoTarget(this.settings, this.flags['allow-demo'], 'run --demo')
    const label = demo ? '[demo] ' : ''
    let warehouse: Awaited<ReturnType<typeof this.openWarehouse>>
    try {
      // A reader (the dashboard, a query) holds the embedded database for a second or two: wait for it as for
      // any lock. Another run holds it longer, and is told apart by the run lock too (runSnapshot).
      warehouse = await this.openWarehouse({ lockWaitMs: this.settings.lockTimeoutMs })
    } catch (error) {
      if (!(error instanceof DataDirLockedError)) throw error
      // The embedded database is busy: another run (or command) has it. That is a skip, not a failure.
      this.logger.warn('skipped: another crypto-etl process holds the embedded database')
      return {
        runId: null,
        status: 'skipped',
        datasets: [],
        unknownAssets: [],
        api: { requests: 0, credits: 0, bytes: 0, retries: 0, waitedMs: 0 },
        ms: 0,
      }
    }
    const client = await this.coincapClient({ demo })
    const tty = interactive(this.jsonEnabled(), this.settings.quiet)
    const progress = runProgress(this.logger, tty, label)
    try {
      const result = await runSnapshot(warehouse, client, selectionFromFlags(this.flags), {
        version: VERSION,
        command: demo ? 'run --demo' : 'run',
        signal: this.abortController.signal,
        events: progress,
      })
      progress.stop()
      // A run that ended badly still shows what it did before its error line (--json prints it with the error).
      if (result.status === 'skipped') this.logger.warn(`skipped: ${result.heldBy} (recorded as run ${result.runId})`)
      else this.summary(formatRunSummary(result, tty, label), 'run finished', runSummaryFields(result))
      if (demo && !result.error)
        this.summary(
          `Demo data, labelled 'run --demo' in etl_runs. Look at it: crypto-etl query. Remove it: crypto-etl prune --run ${result.runId}`,
          'demo data loaded',
          { run_id: result.runId, demo: true },
        )
      return this.endWith(result)
    } finally {
      progress.stop()
    }
  }
}
