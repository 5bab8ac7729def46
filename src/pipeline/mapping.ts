/**
 * Between the source and the warehouse: each CoinCap answer is validated once (the source's schemas) and
 * mapped once to the rows of its dataset's table and dimension, in the catalogue's column order. One mapping
 * per dataset, in {@link MAPPINGS}. Decimals stay the API's strings; times become ISO strings (exact to the
 * millisecond) for Postgres to read as timestamptz.
 */
import { CATALOGUE, type Column, type ColumnsOf, type Dataset } from '../catalogue/index.js'
import {
  type Answer,
  type Asset,
  CLOCK_SKEW_MS,
  type Exchange,
  type HistoryPoint,
  idProblem,
  MAX_STORABLE_MS,
  type Market,
  type PointBounds,
  type Rate,
  type RecordOf,
  validateRecords,
} from '../coincap/index.js'
import type { Db } from '../warehouse/connection/connect.js'
import { type AnswerLoad, type StoreOptions, storeRows } from '../warehouse/writing/loader.js'
import type { AnswerRows, Cell, Columns } from '../warehouse/writing/rows.js'

/** A row as wide as the columns it fills: one cell per catalogue column (checked by the compiler). */
type Cells<C extends readonly Column[]> = { -readonly [K in keyof C]: Cell }

/** What a record's row needs besides the record: its answer and the run that stores it. */
export interface RowContext {
  /** The answer's time in ms and as ISO text (the snapshots' `observed_at`). */
  observedMs: number
  observedAt: string
  runId: number | null
  /** History only: the asset and interval of the answer. */
  asset: string
  interval: string
}

/** How the records of one dataset become rows. */
interface Mapping<D extends Dataset> {
  /** The record's row of the dataset's table, in the catalogue's column order. */
  row(record: RecordOf[D], context: RowContext): Cells<ColumnsOf<D>>
  /** The time (Unix ms) of the row's time column, for its partition. */
  time(record: RecordOf[D], context: RowContext): number
  /** The record's row of the dataset's dimension, in the catalogue's column order, if it keeps one. */
  dimension?(record: RecordOf[D]): Cell[]
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
const updatedAt = (ms: number): string | null => (ms > 0 ? iso(ms) : null)

const observed = (_: unknown, c: RowContext) => c.observedMs

/** One mapping per dataset: record → row of its table (and of its dimension). */
export const MAPPINGS: { readonly [D in Dataset]: Mapping<D> } = {
  assets: {
    row: (a: Asset, c) => [
      a.id,
      c.observedAt,
      Number(a.rank),
      a.supply,
      a.maxSupply,
      a.marketCapUsd,
      a.volumeUsd24Hr,
      a.priceUsd,
      a.changePercent24Hr,
      a.vwap24Hr,
      c.runId,
    ],
    time: observed,
    dimension: (a: Asset) => [a.id, a.symbol, a.name, a.explorer ?? null, JSON.stringify(a.tokens ?? {})],
  },
  exchanges: {
    row: (e: Exchange, c) => [
      e.exchangeId,
      c.observedAt,
      Number(e.rank),
      e.percentTotalVolume,
      e.volumeUsd,
      Number(e.tradingPairs),
      e.socket,
      updatedAt(e.updated),
      c.runId,
    ],
    time: observed,
    dimension: (e: Exchange) => [e.exchangeId, e.name, e.exchangeUrl],
  },
  markets: {
    row: (m: Market, c) => [
      m.exchangeId,
      m.baseId,
      m.quoteId,
      c.observedAt,
      Number(m.rank),
      m.baseSymbol,
      m.quoteSymbol,
      m.priceQuote,
      m.priceUsd,
      m.volumeUsd24Hr,
      m.percentExchangeVolume,
      m.tradesCount24Hr,
      updatedAt(m.updated),
      c.runId,
    ],
    time: observed,
  },
  rates: {
    row: (r: Rate, c) => [r.id, c.observedAt, r.symbol, r.currencySymbol, r.type, r.rateUsd, c.runId],
    time: observed,
  },
  history: {
    row: (p: HistoryPoint, c) => [c.asset, c.interval, iso(p.time), p.priceUsd, p.circulatingSupply ?? null, c.runId],
    time: (p: HistoryPoint) => p.time,
  },
}

function columnsOf(table: string, spec: readonly Column[], values: Cell[][]): Columns {
  return { table, names: spec.map(([name]) => name), types: spec.map(([, type]) => type), values }
}

/** The rows of `dataset`'s table (and dimension) for valid records, with the time range their partitions need. */
function mapRecords<D extends Dataset>(
  dataset: D,
  records: readonly RecordOf[D][],
  context: RowContext,
): Pick<MappedAnswer, 'facts' | 'dimension' | 'times'> {
  const mapping = MAPPINGS[dataset] as Mapping<D>
  const { table, columns } = CATALOGUE[dataset]
  let min = Number.POSITIVE_INFINITY
  let max = Number.NEGATIVE_INFINITY
  // A plain loop into arrays of known length: a history load maps millions of points (map + push was 30% slower).
  const times = new Array<number>(records.length)
  const values = new Array<Cell[]>(records.length)
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const time = mapping.time(record, context)
    times[i] = time
    if (time < min) min = time
    if (time > max) max = time
    values[i] = mapping.row(record, context)
  }
  const facts = columnsOf(table, columns, values)
  if (records.length > 0) Object.assign(facts, { minTime: new Date(min), maxTime: new Date(max) })
  const { dimension } = CATALOGUE[dataset] as { dimension?: { table: string; columns: readonly Column[] } }
  if (!dimension || !mapping.dimension) return { facts, times }
  return { facts, times, dimension: columnsOf(dimension.table, dimension.columns, records.map(mapping.dimension)) }
}

/** The `asset_history` rows of points of one asset and interval (a bulk load's batches, and tests). */
export function historyRows(asset: string, interval: string, points: HistoryPoint[], runId: number | null): Columns {
  return mapRecords('history', points, { asset, interval, runId, observedMs: 0, observedAt: '' }).facts
}

/** Why no record of `answer` can be stored, if none can: a time beyond now, or a history answer's bad asset id. */
function answerProblem(answer: Answer, latest: number): string | undefined {
  if (answer.timestamp > latest) {
    const at = answer.timestamp > MAX_STORABLE_MS ? String(answer.timestamp) : new Date(answer.timestamp).toISOString()
    return `the answer's timestamp ${at} is after now plus ${CLOCK_SKEW_MS / 60_000} minutes (a clock ahead?)`
  }
  const problem = answer.dataset === 'history' ? idProblem(answer.asset ?? '') : undefined
  return problem && `asset: ${problem}`
}

/** One answer validated and mapped: its rows, and what its callers count. */
export interface MappedAnswer extends AnswerRows {
  /** Records the answer held, valid or not. */
  records: number
  /** The time (Unix ms) of each row of `facts`, in order. */
  times: number[]
}

/** What {@link mapAnswer} needs besides the answer. */
export interface MapOptions {
  runId: number | null
  /** Now in Unix ms (default `Date.now()`): nothing later than now plus the clock skew is stored. */
  now?: number
}

/**
 * Validates an answer's records once and maps the valid ones to rows; the others are rejected records with
 * their reason. History points outside the answer's window, and any time beyond now plus the clock skew, are
 * rejected too; an answer stamped beyond it, or a history answer for a bad asset id, is rejected whole.
 */
export function mapAnswer(answer: Answer, options: MapOptions): MappedAnswer {
  const latest = (options.now ?? Date.now()) + CLOCK_SKEW_MS
  // An answer stamped past the year 9999 is kept at its end: Postgres reads no later ISO date.
  const observedAt = new Date(Math.min(answer.timestamp, MAX_STORABLE_MS)).toISOString()
  const context: RowContext = {
    observedMs: answer.timestamp,
    observedAt,
    runId: options.runId,
    asset: answer.asset ?? '',
    interval: answer.interval ?? '',
  }
  const base = { dataset: answer.dataset, runId: options.runId, observedAt, records: answer.data.length }
  const problem = answerProblem(answer, latest)
  if (problem) {
    const { facts } = mapRecords(answer.dataset, [], context)
    return { ...base, facts, times: [], rejected: answer.data.map((record) => ({ record, reason: problem })) }
  }
  const { valid, rejected } = validateRecords(answer.dataset, answer.data, pointBounds(answer, latest))
  return { ...base, ...mapRecords(answer.dataset, valid, context), rejected }
}

/** Where an answer's history points may fall: its window, if it was asked for one, and no later than `latest`. */
function pointBounds(answer: Answer, latest: number): PointBounds | undefined {
  if (answer.dataset !== 'history') return undefined
  const { start, end } = answer
  return start !== undefined && end !== undefined ? { window: { start, end }, latest } : { latest }
}

/**
 * Validates, maps and stores one answer inside the caller's transaction (see {@link mapAnswer} and
 * `storeRows`). Idempotent: loading the same answer again inserts nothing.
 */
export function loadAnswer(
  sql: Db,
  schema: string,
  answer: Answer,
  runId: number | null,
  options: StoreOptions & { now?: number } = {},
): Promise<AnswerLoad> {
  return storeRows(sql, schema, mapAnswer(answer, { runId, now: options.now }), options)
}
