/**
 * From validated CoinCap records to warehouse rows: pure functions, no SQL. Decimals stay the API's
 * strings; times become ISO strings (exact to the millisecond) for Postgres to read as timestamptz.
 */
import { CATALOGUE } from '../../catalogue/index.js'
import type { Asset, Exchange, HistoryPoint, Market, Rate } from '../../coincap/index.js'

type Cell = string | number | boolean | null

/** Rows of one table, column by column (the shape `unnest` and COPY both want). */
export interface Columns {
  table: string
  names: readonly string[]
  /** Postgres type of each column, for `unnest($n::type[])`. */
  types: readonly string[]
  values: Cell[][]
  /** Earliest and latest partition-key time of the rows, for partition creation. */
  minTime?: Date
  maxTime?: Date
}

const isoCache = new Map<number, string>()

/** ISO text of a time in ms; memoised, because history loads repeat the same bucket times across assets. */
function iso(ms: number): string {
  let text = isoCache.get(ms)
  if (text === undefined) {
    if (isoCache.size >= 100_000) isoCache.clear()
    text = new Date(ms).toISOString()
    isoCache.set(ms, text)
  }
  return text
}

/** `updated` ms → UTC timestamp; 0 (a dead exchange) → null. */
function updatedAt(ms: number): string | null {
  return ms > 0 ? iso(ms) : null
}

function columns(table: string, spec: readonly (readonly [string, string])[], rows: Cell[][]): Columns {
  return { table, names: spec.map(([n]) => n), types: spec.map(([, t]) => t), values: rows }
}

/** `asset_snapshots` rows of one `/assets` answer. */
export function assetSnapshotRows(records: Asset[], observedMs: number, runId: number | null): Columns {
  const at = iso(observedMs)
  return withTimes(
    columns(
      CATALOGUE.assets.table,
      CATALOGUE.assets.columns,
      records.map((a) => [
        a.id,
        at,
        Number(a.rank),
        a.supply,
        a.maxSupply,
        a.marketCapUsd,
        a.volumeUsd24Hr,
        a.priceUsd,
        a.changePercent24Hr,
        a.vwap24Hr,
        runId,
      ]),
    ),
    observedMs,
    observedMs,
  )
}

/** `exchange_snapshots` rows of one `/exchanges` answer. */
export function exchangeSnapshotRows(records: Exchange[], observedMs: number, runId: number | null): Columns {
  const at = iso(observedMs)
  return withTimes(
    columns(
      CATALOGUE.exchanges.table,
      CATALOGUE.exchanges.columns,
      records.map((e) => [
        e.exchangeId,
        at,
        Number(e.rank),
        e.percentTotalVolume,
        e.volumeUsd,
        Number(e.tradingPairs),
        e.socket,
        updatedAt(e.updated),
        runId,
      ]),
    ),
    observedMs,
    observedMs,
  )
}

/** `market_snapshots` rows of one `/markets` answer. */
export function marketSnapshotRows(records: Market[], observedMs: number, runId: number | null): Columns {
  const at = iso(observedMs)
  return withTimes(
    columns(
      CATALOGUE.markets.table,
      CATALOGUE.markets.columns,
      records.map((m) => [
        m.exchangeId,
        m.baseId,
        m.quoteId,
        at,
        Number(m.rank),
        m.baseSymbol,
        m.quoteSymbol,
        m.priceQuote,
        m.priceUsd,
        m.volumeUsd24Hr,
        m.percentExchangeVolume,
        m.tradesCount24Hr,
        updatedAt(m.updated),
        runId,
      ]),
    ),
    observedMs,
    observedMs,
  )
}

/** `rate_snapshots` rows of one `/rates` answer. */
export function rateSnapshotRows(records: Rate[], observedMs: number, runId: number | null): Columns {
  const at = iso(observedMs)
  return withTimes(
    columns(
      CATALOGUE.rates.table,
      CATALOGUE.rates.columns,
      records.map((r) => [r.id, at, r.symbol, r.currencySymbol, r.type, r.rateUsd, runId]),
    ),
    observedMs,
    observedMs,
  )
}

export const HISTORY_COLUMNS = CATALOGUE.history.columns

/** `asset_history` rows of one `/assets/{id}/history` answer. */
export function historyRows(assetId: string, interval: string, points: HistoryPoint[], runId: number | null): Columns {
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  const rows = points.map((p): Cell[] => {
    if (p.time < min) min = p.time
    if (p.time > max) max = p.time
    return [assetId, interval, iso(p.time), p.priceUsd, p.circulatingSupply ?? null, runId]
  })
  const out = columns(CATALOGUE.history.table, HISTORY_COLUMNS, rows)
  return points.length ? withTimes(out, min, max) : out
}

function withTimes(c: Columns, minMs: number, maxMs: number): Columns {
  return { ...c, minTime: new Date(minMs), maxTime: new Date(maxMs) }
}

/** One row per asset id (the last record wins), for the `assets` dimension upsert. */
export function assetDimensionRows(records: Asset[]): Asset[] {
  return [...new Map(records.map((a) => [a.id, a])).values()]
}

/** One row per exchange id (the last record wins), for the `exchanges` dimension upsert. */
export function exchangeDimensionRows(records: Exchange[]): Exchange[] {
  return [...new Map(records.map((e) => [e.exchangeId, e])).values()]
}

/** How deep a rejected record is kept; deeper parts are replaced by a marker (Postgres and JSON.stringify recurse). */
const MAX_REJECTED_DEPTH = 32

/**
 * The jsonb text of a rejected record, whatever it holds: NUL characters (which jsonb refuses) become
 * U+FFFD, and nesting beyond {@link MAX_REJECTED_DEPTH} levels becomes the string `"<nested too deeply>"`.
 */
export function rejectedRecordJson(record: unknown): string {
  return JSON.stringify(storable(record, 0)) ?? 'null'
}

function storable(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replaceAll('\0', '\uFFFD')
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_REJECTED_DEPTH) return '<nested too deeply>'
  if (Array.isArray(value)) return value.map((v) => storable(v, depth + 1))
  const copy: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    // defineProperty, not assignment: a "__proto__" key stays a key.
    Object.defineProperty(copy, key.replaceAll('\0', '\uFFFD'), {
      value: storable(v, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return copy
}
