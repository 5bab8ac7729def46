/**
 * `crypto-etl query`: picks the report, checks that the flags apply to it, resolves the currency and the
 * asset, and returns typed rows with their columns. Nothing is printed here.
 */
import { INTERVAL_MS, type Interval } from '../catalogue/index.js'
import { UsageError } from '../core/errors.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { isConnectionError } from '../warehouse/connection/connection-errors.js'
import {
  assetHistory,
  assetIdForSymbol,
  type HistoryBuckets,
  demoRunsWithRows,
  findHistoryGaps,
  findRate,
  knownCurrencies,
  latestAssets,
  latestExchanges,
  latestMarkets,
  movers,
  recentRuns,
  runReadOnly,
  storedIntervals,
} from '../warehouse/reading/queries.js'
import { RefusedSqlError } from '../warehouse/reading/read-only-sql.js'

export const REPORTS = ['latest', 'history', 'movers', 'exchanges', 'markets', 'runs', 'gaps'] as const
export type ReportName = (typeof REPORTS)[number]

/** How a value is shown: csv/json always carry the value itself, this only guides tables. */
export type ValueKind =
  | 'text'
  | 'integer'
  | 'price'
  | 'amount'
  | 'percent'
  | 'share'
  | 'decimal'
  | 'time'
  | 'duration'
  | 'boolean'
  | 'list'
  | 'json'

export interface ResultColumn {
  name: string
  kind: ValueKind
}

/** What `query` returns (and `--json` prints): the rows, in order, with their columns. */
export interface QueryResult {
  report: ReportName | 'sql'
  /** The currency of price, market cap and volume columns. */
  currency: string
  /** The rate used to convert from USD (`rate_usd` of the currency), when not USD. */
  rateUsd?: string
  assetId?: string
  interval?: Interval
  since?: Date
  until?: Date
  columns: ResultColumn[]
  rows: Record<string, unknown>[]
  /** Runs of `run --demo` whose made-up snapshots are still stored (snapshot reports only). */
  demoRuns?: number[]
  /** history with `points`: the buckets its points were picked from (none when nothing is stored in the range). */
  buckets?: HistoryBuckets
  /** gaps: false when no point of the asset and interval is stored, so there was nothing to check. */
  historyStored?: boolean
}

export interface QueryOptions {
  report?: string
  sql?: string
  assetIds?: string[]
  symbols?: string[]
  since?: Date
  until?: Date
  limit?: number
  currency?: string
  interval?: Interval
  exchange?: string
  chart?: boolean
  /** history: at most one stored point per source in each of this many equal buckets of the range. */
  points?: number
  now?: Date
}

const HOUR = 3_600_000
/** Columns in the result's currency: converted by `--currency`. */
export const MONEY_COLUMNS = new Set(['price', 'market_cap', 'volume_24h', 'price_from', 'price_to'])
const c = (name: string, kind: ValueKind): ResultColumn => ({ name, kind })

const COLUMNS: Record<ReportName, ResultColumn[]> = {
  latest: [
    c('rank', 'integer'),
    c('asset_id', 'text'),
    c('symbol', 'text'),
    c('name', 'text'),
    c('price', 'price'),
    c('change_24h', 'percent'),
    c('market_cap', 'amount'),
    c('volume_24h', 'amount'),
    c('observed_at', 'time'),
  ],
  history: [
    c('time', 'time'),
    c('price', 'price'),
    c('supply', 'amount'),
    c('market_cap', 'amount'),
    c('volume_24h', 'amount'),
    c('source', 'text'),
  ],
  movers: [
    c('side', 'text'),
    c('asset_id', 'text'),
    c('symbol', 'text'),
    c('name', 'text'),
    c('price_from', 'price'),
    c('price_to', 'price'),
    c('change', 'percent'),
    c('from', 'time'),
    c('to', 'time'),
  ],
  exchanges: [
    c('rank', 'integer'),
    c('exchange_id', 'text'),
    c('name', 'text'),
    c('volume_24h', 'amount'),
    c('share', 'share'),
    c('pairs', 'integer'),
    c('socket', 'boolean'),
    c('updated', 'time'),
    c('observed_at', 'time'),
  ],
  markets: [
    c('exchange_id', 'text'),
    c('pair', 'text'),
    c('base_id', 'text'),
    c('quote_id', 'text'),
    c('price', 'price'),
    c('price_quote', 'price'),
    c('volume_24h', 'amount'),
    c('share', 'share'),
    c('trades_24h', 'integer'),
    c('updated', 'time'),
    c('observed_at', 'time'),
  ],
  runs: [
    c('run_id', 'integer'),
    c('command', 'text'),
    c('status', 'text'),
    c('started_at', 'time'),
    c('finished_at', 'time'),
    c('duration_ms', 'duration'),
    c('datasets', 'list'),
    c('rows', 'integer'),
    c('rejected', 'integer'),
    c('api_requests', 'integer'),
    c('credits', 'integer'),
    c('rolled_back_by', 'integer'),
    c('args', 'list'),
    c('error', 'text'),
  ],
  gaps: [c('from', 'time'), c('to', 'time'), c('missing', 'integer')],
}

type OptionName =
  'asset' | 'symbol' | 'since' | 'until' | 'limit' | 'currency' | 'interval' | 'exchange' | 'chart' | 'points'

/** The flags each report reads; any other is a usage error rather than silently ignored. */
const APPLIES: Record<ReportName, OptionName[]> = {
  latest: ['asset', 'symbol', 'limit', 'currency'],
  history: ['asset', 'symbol', 'since', 'until', 'limit', 'currency', 'interval', 'chart', 'points'],
  movers: ['since', 'until', 'limit', 'currency'],
  exchanges: ['limit', 'currency'],
  markets: ['asset', 'symbol', 'exchange', 'limit', 'currency'],
  runs: ['since', 'limit'],
  gaps: ['asset', 'symbol', 'since', 'until', 'interval'],
}

function given(options: QueryOptions): OptionName[] {
  const set: Record<OptionName, unknown> = {
    asset: options.assetIds?.length,
    symbol: options.symbols?.length,
    since: options.since,
    until: options.until,
    limit: options.limit,
    currency: options.currency,
    interval: options.interval,
    exchange: options.exchange,
    chart: options.chart,
    points: options.points,
  }
  return (Object.keys(set) as OptionName[]).filter((k) => set[k])
}

/** Checks the report name and that every flag given applies to it. */
function parseReport(options: QueryOptions): ReportName | 'sql' {
  if (options.sql !== undefined) {
    if (options.report) throw new UsageError(`--sql runs its own query; drop the report name '${options.report}'.`)
    const extra = given(options)
    if (extra.length) throw new UsageError(`--${extra[0]} does not apply to --sql; write it into the query.`)
    return 'sql'
  }
  const report = options.report ?? 'latest'
  if (!(REPORTS as readonly string[]).includes(report)) {
    throw new UsageError(`Unknown report '${report}'; expected one of ${REPORTS.join(', ')}.`)
  }
  const name = report as ReportName
  const extra = given(options).filter((o) => !APPLIES[name].includes(o))
  if (extra.length) {
    throw new UsageError(
      `--${extra[0]} does not apply to '${name}'; it reads ${APPLIES[name].map((o) => `--${o}`).join(', ')}.`,
    )
  }
  return name
}

const SQL_KINDS: Record<number, ValueKind> = {
  16: 'boolean',
  20: 'integer',
  21: 'integer',
  23: 'integer',
  26: 'integer',
  114: 'json',
  700: 'decimal',
  701: 'decimal',
  1082: 'time',
  1114: 'time',
  1184: 'time',
  1700: 'decimal',
  3802: 'json',
  1007: 'list',
  1009: 'list',
  1015: 'list',
  1016: 'list',
}

/** Columns of a `--sql` result, their kind guessed from the Postgres type oid. */
function sqlColumns(columns: { name: string; type: number }[]): ResultColumn[] {
  return columns.map((col) => c(col.name, SQL_KINDS[col.type] ?? 'text'))
}

/** A failing `--sql` statement is bad input (exit 2), said in one line; a lost connection stays exit 74. */
function sqlUsageError(error: unknown): unknown {
  if (error instanceof RefusedSqlError) {
    return new UsageError(`--sql runs one read-only query: ${error.message}.`, 'Write with the other commands.')
  }
  const err = error as { code?: string; message?: string }
  if (isConnectionError(error) || typeof err?.code !== 'string') return error
  if (err.code === '25006')
    return new UsageError(`--sql is read-only: ${err.message}.`, 'Write with the other commands.')
  if (err.code === '57014') return new UsageError(`--sql was cancelled: ${err.message}.`, 'Narrow the query.')
  return new UsageError(`--sql failed: ${err.message} (SQLSTATE ${err.code}).`)
}

/** The currencies `--currency` knows (symbols of the newest rates, fiat first), for a picker. */
export async function currencyChoices(warehouse: Warehouse, limit = 50): Promise<string[]> {
  return (await knownCurrencies(warehouse.sql, limit)).shown
}

async function resolveCurrency(
  warehouse: Warehouse,
  currency: string | undefined,
): Promise<{ currency: string; rateUsd?: string }> {
  if (!currency || currency.toUpperCase() === 'USD') return { currency: 'USD' }
  const rate = await findRate(warehouse.sql, currency)
  if (rate) return { currency: rate.symbol, rateUsd: rate.rate_usd }
  const { shown, total } = await knownCurrencies(warehouse.sql)
  const more =
    total > shown.length
      ? ` and ${total - shown.length} more (crypto-etl query --sql "select distinct symbol from rate_snapshots")`
      : ''
  throw new UsageError(
    `Unknown currency '${currency}': no rate with that symbol in rate_snapshots.`,
    shown.length
      ? `Known currencies: ${shown.join(', ')}${more}.`
      : 'Load rates first: crypto-etl run --datasets rates.',
  )
}

/** The one asset a history or gaps report is about, from `--asset` or `--symbol`. */
async function oneAsset(warehouse: Warehouse, report: ReportName, options: QueryOptions): Promise<string> {
  const named = [...(options.assetIds ?? []), ...(options.symbols ?? [])]
  if (named.length !== 1) {
    throw new UsageError(`'${report}' needs exactly one asset: --asset <id> or --symbol <SYM>.`)
  }
  if (options.assetIds?.[0]) return options.assetIds[0]
  const symbol = options.symbols![0]!
  const id = await assetIdForSymbol(warehouse.sql, symbol)
  if (!id)
    throw new UsageError(`No asset has the symbol '${symbol}'.`, 'See the symbols with: crypto-etl query latest.')
  return id
}

function window(options: QueryOptions, now: Date, defaultSinceMs?: number): { since?: Date; until: Date } {
  const until = options.until ?? now
  const since = options.since ?? (defaultSinceMs ? new Date(until.getTime() - defaultSinceMs) : undefined)
  if (since && since >= until) throw new UsageError('--since must be before --until.')
  return { since, until }
}

async function gapsInterval(warehouse: Warehouse, assetId: string, interval?: Interval) {
  if (interval) return interval
  const stored = await storedIntervals(warehouse.sql, assetId)
  if (stored.length === 1) return stored[0]!
  if (stored.length === 0) throw new UsageError(`No history stored for '${assetId}'; name the --interval to check.`)
  throw new UsageError(`'${assetId}' has history at ${stored.join(', ')}; choose one with --interval.`)
}

/**
 * Runs a report (or a read-only `--sql` statement) and returns its rows.
 * @throws UsageError (2) for flags that do not apply, an unknown report, currency or symbol, or a failing `--sql`.
 */
export async function runQuery(warehouse: Warehouse, options: QueryOptions): Promise<QueryResult> {
  const result = await runReport(warehouse, options)
  if (result.report === 'sql' || result.report === 'runs' || result.report === 'gaps') return result
  const demoRuns = await demoRunsWithRows(warehouse.sql)
  return demoRuns.length > 0 ? { ...result, demoRuns } : result
}

async function runReport(warehouse: Warehouse, options: QueryOptions): Promise<QueryResult> {
  const report = parseReport(options)
  const { sql } = warehouse
  if (report === 'sql') {
    const result = await runReadOnly(sql, options.sql!, '30s', warehouse.kind === 'server').catch((error: unknown) => {
      throw sqlUsageError(error)
    })
    return { report, currency: 'USD', columns: sqlColumns(result.columns), rows: result.rows }
  }
  const now = options.now ?? new Date()
  const { currency, rateUsd } = await resolveCurrency(warehouse, options.currency)
  const base = { report, currency, rateUsd, columns: COLUMNS[report] }
  const result = await reportRows(warehouse, report, options, now, base)
  return rateUsd ? withCurrencyColumn(result) : result
}

/**
 * Converted money columns say their currency in every output: a `currency` column after the last of
 * them (tables leave it out: their headers say it), so a csv or json row never passes for USD.
 */
function withCurrencyColumn(result: QueryResult): QueryResult {
  const columns = [...result.columns]
  const lastMoney = columns.findLastIndex((col) => MONEY_COLUMNS.has(col.name))
  if (lastMoney < 0) return result
  columns.splice(lastMoney + 1, 0, c('currency', 'text'))
  return { ...result, columns, rows: result.rows.map((row) => ({ ...row, currency: result.currency })) }
}

async function reportRows(
  warehouse: Warehouse,
  report: ReportName,
  options: QueryOptions,
  now: Date,
  base: Pick<QueryResult, 'report' | 'currency' | 'rateUsd' | 'columns'>,
): Promise<QueryResult> {
  const { sql } = warehouse
  const { rateUsd } = base
  switch (report) {
    case 'latest': {
      const { assetIds, symbols } = options
      return { ...base, rows: await latestAssets(sql, { limit: options.limit ?? 20, assetIds, symbols, rateUsd }) }
    }
    case 'history': {
      const assetId = await oneAsset(warehouse, report, options)
      const { since, until } = window(options, now, HOUR)
      const { rows, buckets } = await assetHistory(sql, {
        assetId,
        since: since!,
        until,
        interval: options.interval,
        limit: options.limit,
        points: options.points,
        rateUsd,
      })
      return { ...base, assetId, since, until, interval: options.interval, rows, ...(buckets && { buckets }) }
    }
    case 'movers': {
      const { since, until } = window(options, now, 24 * HOUR)
      return {
        ...base,
        since,
        until,
        rows: await movers(sql, { since: since!, until, limit: options.limit ?? 10, rateUsd }),
      }
    }
    case 'exchanges':
      return { ...base, rows: await latestExchanges(sql, { limit: options.limit ?? 20, rateUsd }) }
    case 'markets': {
      const filters = { exchangeId: options.exchange, assetId: options.assetIds?.[0], symbol: options.symbols?.[0] }
      if ((options.assetIds?.length ?? 0) > 1 || (options.symbols?.length ?? 0) > 1) {
        throw new UsageError("'markets' filters on one --asset or one --symbol.")
      }
      return { ...base, rows: await latestMarkets(sql, { limit: options.limit ?? 20, ...filters, rateUsd }) }
    }
    case 'runs':
      return {
        ...base,
        since: options.since,
        rows: await recentRuns(sql, { limit: options.limit ?? 10, since: options.since }),
      }
    case 'gaps': {
      const assetId = await oneAsset(warehouse, report, options)
      const interval = await gapsInterval(warehouse, assetId, options.interval)
      const { since } = window(options, now)
      // From --since without --until: up to the last bucket CoinCap can have finished, one interval before now.
      const until = options.until ?? (since ? new Date(now.getTime() - INTERVAL_MS[interval]) : undefined)
      const gaps = await findHistoryGaps(sql, { assetId, interval, from: since, to: until })
      const historyStored = (await storedIntervals(sql, assetId)).includes(interval)
      return {
        ...base,
        assetId,
        interval,
        historyStored,
        since,
        until,
        rows: gaps as unknown as Record<string, unknown>[],
      }
    }
  }
}
