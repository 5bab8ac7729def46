import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { UsageError } from '../core/errors.js'
import { listFlag, MAX_COUNT, timeFlag } from '../cli/flags.js'
import { type QueryResult, REPORTS, runQuery } from '../pipeline/query.js'
import { colorEnabled } from '../ui/format.js'
import { noHistoryNotice, type OutputFormat, renderQuery } from '../ui/query.js'
import { INTERVALS, type Interval } from '../catalogue/index.js'

export default class Query extends BaseCommand<typeof Query> {
  static override summary =
    'Print the warehouse as tables: latest prices, history, movers, exchanges, markets, runs, gaps.'
  static override description = `REPORT is one of ${REPORTS.join(', ')} (default latest), or give --sql "<select>" instead. \
--format csv|json prints every value exactly (decimals as strings) for pipes; --json prints the whole result object.`
  static override examples = [
    '<%= config.bin %> query',
    '<%= config.bin %> query latest --limit 10 --currency EUR',
    '<%= config.bin %> query history --symbol BTC --since 24h --chart',
    '<%= config.bin %> query history --symbol BTC --since 30d --points 1440 --format json',
    '<%= config.bin %> query movers --since 7d --limit 5',
    '<%= config.bin %> query gaps --asset bitcoin --interval h1',
    '<%= config.bin %> query runs --format csv > runs.csv',
    '<%= config.bin %> query --sql "select asset_id, count(*) from asset_snapshots group by 1" --format json',
  ]
  static override args = {
    report: Args.string({ description: `The report: ${REPORTS.join(', ')}.`, required: false }),
  }
  static override flags = {
    asset: listFlag()({ summary: 'Asset ids, comma-separated (history and gaps take one), e.g. bitcoin.' }),
    symbol: listFlag()({ summary: 'Asset symbols, case-insensitive, e.g. BTC,ETH.' }),
    since: timeFlag({ summary: 'Start: a duration ago (1h, 7d) or a date (default 1h for history, 24h for movers).' }),
    until: timeFlag({ summary: 'End: a duration ago or a date (default now).' }),
    limit: Flags.integer({ summary: 'At most this many rows (movers: per side).', min: 1, max: MAX_COUNT }),
    currency: Flags.string({ summary: 'Show money in this currency, converted with its latest rate, e.g. EUR.' }),
    format: Flags.string({
      summary: 'Output as a table, csv or a JSON array.',
      options: ['table', 'csv', 'json'],
      default: 'table',
    }),
    chart: Flags.boolean({ summary: 'history: draw the price as a terminal chart instead of a table.' }),
    points: Flags.integer({
      summary: 'history: at most one stored point per source in each of N equal parts of the range (long ranges).',
      min: 1,
      max: MAX_COUNT,
    }),
    sql: Flags.string({ summary: 'Run this read-only SQL statement (30 s timeout) and print its rows.' }),
    interval: Flags.string({ summary: 'History interval for history and gaps, e.g. h1.', options: INTERVALS }),
    exchange: Flags.string({ summary: 'markets: only this exchange id, e.g. binance.' }),
  }

  async run(): Promise<QueryResult> {
    const { flags } = this
    if (flags.chart && flags.format !== 'table') throw new UsageError('--chart draws for the terminal; drop --format.')
    const warehouse = await this.openWarehouse({ read: true })
    const result = await runQuery(warehouse, {
      report: this.args.report,
      sql: flags.sql,
      assetIds: flags.asset,
      symbols: flags.symbol,
      since: flags.since,
      until: flags.until,
      limit: flags.limit,
      currency: flags.currency,
      interval: flags.interval as Interval | undefined,
      exchange: flags.exchange,
      chart: flags.chart,
      points: flags.points,
    })
    this.log(
      renderQuery(result, {
        format: flags.format as OutputFormat,
        chart: flags.chart,
        color: colorEnabled(),
        width: process.stdout.columns || 80,
      }),
    )
    if (result.demoRuns) this.logger.warn(demoNotice(result.demoRuns))
    // csv and json stay data; the table said it on stdout already.
    if (result.historyStored === false && result.rows.length === 0 && flags.format !== 'table') {
      this.logger.warn(noHistoryNotice(result))
    }
    return result
  }
}

/** The line that labels demo data wherever a report may show it. */
export function demoNotice(runs: number[]): string {
  return runs.length === 1
    ? `demo data (made-up prices) from run ${runs[0]} is in this warehouse; remove it: crypto-etl prune --run ${runs[0]}`
    : `demo data (made-up prices) from runs ${runs.join(', ')} is in this warehouse; remove each: crypto-etl prune --run <id>`
}
