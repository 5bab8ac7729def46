import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { INTERVALS, type Interval } from '../catalogue/index.js'
import { ExitCode, UsageError } from '../core/errors.js'
import { assetIdsFlag, durationFlag, timeFlag } from '../cli/flags.js'
import {
  type BackfillOptions,
  type BackfillPlan,
  type BackfillResult,
  checkBackfillOptions,
  planBackfill,
  runBackfill,
} from '../backfill/backfill.js'
import { backfillProgress, formatBackfill, formatPlan } from '../ui/backfill.js'
import { interactive } from '../ui/run.js'
import { VERSION } from '../core/version.js'
import { BULK_ANSWER_TIMEOUT_SECONDS } from '../warehouse/connection/connect.js'

export default class Backfill extends BaseCommand<typeof Backfill> {
  static override databaseAnswerSeconds = BULK_ANSWER_TIMEOUT_SECONDS
  static override summary = 'Load price history for assets, an interval and a time range, in resumable windows.'
  static override description =
    'Splits the range into the largest windows CoinCap serves per request (aligned to the interval, half-open, so no point is fetched twice) and records each in the backfill_windows ledger: a re-run skips finished windows and a killed backfill resumes where it stopped. Only completed buckets are fetched: the range ends at --to (default now) rounded down to the interval. Says what it will cost before the first history request; --plan says it and stops. Exit 3 when some windows failed (the ledger marks them; run again to retry those).'
  static override examples = [
    {
      description: 'See the windows, requests and credits first; nothing is fetched.',
      command: '<%= config.bin %> backfill --assets bitcoin,ethereum --interval h1 --from 90d --plan',
    },
    {
      description: 'Load 90 days of hourly prices for two assets.',
      command: '<%= config.bin %> backfill --assets bitcoin,ethereum --interval h1 --from 90d',
    },
    {
      description: 'Daily prices of the top 20 assets since 2024.',
      command: '<%= config.bin %> backfill --top 20 --interval d1 --from 2024-01-01',
    },
    {
      description: 'Fetch again only the windows with holes CoinCap has not confirmed.',
      command: '<%= config.bin %> backfill --assets bitcoin --interval h1 --fill-gaps',
    },
  ]

  static override flags = {
    assets: assetIdsFlag()({
      summary: 'Asset ids, comma-separated, e.g. bitcoin,ethereum.',
      helpValue: '<ids>',
    }),
    top: Flags.integer({
      summary: 'The top N assets by rank (asks CoinCap: 1 request).',
      min: 1,
      max: 2000,
    }),
    interval: Flags.string({ summary: 'Bucket size of the points (required).', options: [...INTERVALS] }),
    from: timeFlag({
      summary: 'Start: a date (2025-01-01) or a duration ago (90d).',
      helpValue: '<date|duration>',
    }),
    to: timeFlag({ summary: 'End (default now): a date or a duration ago.', helpValue: '<date|duration>' }),
    window: durationFlag({
      summary: 'Range per request instead of the default for the interval (m1 1d, m5 5d, ... h1 30d, d1 10y).',
      helpValue: '<duration>',
    }),
    plan: Flags.boolean({ summary: 'Print the windows, requests, estimated credits and duration; fetch nothing.' }),
    'fill-gaps': Flags.boolean({
      summary: 'Fetch only windows with holes in stored history not already confirmed as holes at CoinCap.',
    }),
  }

  async run(): Promise<BackfillResult | BackfillPlan> {
    const { flags } = this
    // Checked here, not by oclif, whose messages for these span several lines.
    if (Boolean(flags.assets) === Boolean(flags.top)) {
      throw new UsageError('Name the assets with one of --assets bitcoin,ethereum or --top 10.')
    }
    if (!flags.interval) throw new UsageError(`Missing --interval: one of ${INTERVALS.join(' ')}.`)
    const options: BackfillOptions = {
      assets: flags.assets ? { ids: flags.assets } : { top: flags.top! },
      interval: flags.interval as Interval,
      from: flags.from,
      to: flags.to,
      windowMs: flags.window,
      fillGaps: flags['fill-gaps'],
      version: VERSION,
      signal: this.abortController.signal,
    }
    checkBackfillOptions(options)
    const warehouse = await this.openWarehouse()
    if (flags.plan) {
      const plan = await planBackfill(warehouse, options)
      this.log(formatPlan(plan))
      return plan
    }
    const client = await this.coincapClient()
    const tty = interactive(this.jsonEnabled(), this.settings.quiet)
    const progress = backfillProgress(this.logger, tty)
    try {
      const result = await runBackfill(warehouse, client, { ...options, events: progress })
      progress.stop()
      this.summary(formatBackfill(result, tty), 'backfill finished', {
        run_id: result.runId,
        status: result.status,
        rows: { history: result.rows },
        requests: result.api.requests,
        credits: result.api.credits,
        ms: result.ms,
        exit_code: result.error?.exitCode ?? ExitCode.ok,
      })
      if (result.status === 'interrupted')
        this.logger.warn('Finished windows are kept: run the same command to resume.')
      return this.endWith(result)
    } finally {
      progress.stop()
    }
  }
}
