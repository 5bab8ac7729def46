/**
 * Loads CoinCap answers into the warehouse: dimensions upserted, one fact row per entity per answer
 * (`on conflict do nothing`, so a re-load is a no-op), records that fail validation kept in
 * `rejected_records`. Callers own the transaction: every function here takes the transaction's `sql`.
 */
import {
  type Asset,
  CLOCK_SKEW_MS,
  type Exchange,
  idProblem,
  MAX_STORABLE_MS,
  type RejectedRecord,
  validateRecords,
} from '../../coincap/schemas.js'
import type { Answer } from '../../coincap/types.js'
import type { BulkWriter } from './bulk.js'
import type { Db } from '../connection/connect.js'
import { ensurePartitions, type PartitionedTable } from './partitions.js'
import {
  assetDimensionRows,
  assetSnapshotRows,
  type Columns,
  exchangeDimensionRows,
  exchangeSnapshotRows,
  historyRows,
  marketSnapshotRows,
  rateSnapshotRows,
  rejectedRecordJson,
} from './rows.js'

/** What loading one answer did: new fact rows (duplicates of stored rows not counted) and rejected records. */
export interface AnswerLoad {
  table: string
  rows: number
  rejected: number
}

/** Rows per statement: big enough to amortise round trips, small enough to keep memory flat. */
const ROWS_PER_STATEMENT = 5000

/** Inserts `columns` with `insert ... select from unnest(...) on conflict do nothing`; returns rows inserted. */
export async function insertColumns(
  sql: Db,
  schema: string,
  columns: Columns,
  /** Where partitions are made, if not in `sql` (see {@link LoadAnswerOptions.partitions}). */
  partitions: Db = sql,
): Promise<number> {
  if (columns.values.length === 0) return 0
  if (columns.minTime && columns.maxTime) {
    await ensurePartitions(partitions, schema, columns.table as PartitionedTable, columns.minTime, columns.maxTime)
  }
  const casts = columns.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')
  const text = `insert into "${schema}".${columns.table} (${columns.names.join(', ')})
    select * from unnest(${casts}) on conflict do nothing`
  let inserted = 0
  for (let start = 0; start < columns.values.length; start += ROWS_PER_STATEMENT) {
    const slice = columns.values.slice(start, start + ROWS_PER_STATEMENT)
    // Every cell travels as text (or null) and Postgres casts it: postgres.js mis-types arrays of JS booleans.
    const params = columns.names.map((_, c) => slice.map((row) => toText(row[c])))
    const result = await sql.unsafe(text, params as never[])
    inserted += result.count
  }
  return inserted
}

function toText(cell: string | number | boolean | null | undefined): string | null {
  return cell === null || cell === undefined ? null : String(cell)
}

/**
 * How far `last_seen_at` may lag the newest observation: a dimension row is rewritten only when one of its
 * fields changed or it was last marked seen longer ago than this, so a run every five minutes does not
 * leave a dead row version per asset behind each time.
 */
export const LAST_SEEN_RESOLUTION = '1 hour'

/**
 * The `where` of a dimension upsert: true only when the update would change something worth a row version.
 * Immutable operators only (a difference of times, not time + interval): Citus refuses others there.
 */
function changed(fields: readonly string[]): string {
  const differs = fields.map((f) => `excluded.${f} is distinct from d.${f}`).join(' or ')
  return `(excluded.last_seen_at >= d.last_seen_at and (${differs}))
       or excluded.first_seen_at < d.first_seen_at
       or excluded.last_seen_at - d.last_seen_at > interval '${LAST_SEEN_RESOLUTION}'`
}

async function upsertAssets(sql: Db, schema: string, assets: Asset[], observedAt: string): Promise<void> {
  const rows = assetDimensionRows(assets)
  if (rows.length === 0) return
  // Names and symbols follow the newest observation, so loading an old file never rolls them back.
  await sql.unsafe(
    `insert into "${schema}".assets as d (asset_id, symbol, name, explorer, tokens, first_seen_at, last_seen_at)
     select id, symbol, name, explorer, tokens::jsonb, $6::timestamptz, $6::timestamptz
     from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as u(id, symbol, name, explorer, tokens)
     on conflict (asset_id) do update set
       symbol = case when excluded.last_seen_at >= d.last_seen_at then excluded.symbol else d.symbol end,
       name = case when excluded.last_seen_at >= d.last_seen_at then excluded.name else d.name end,
       explorer = case when excluded.last_seen_at >= d.last_seen_at then excluded.explorer else d.explorer end,
       tokens = case when excluded.last_seen_at >= d.last_seen_at then excluded.tokens else d.tokens end,
       first_seen_at = least(d.first_seen_at, excluded.first_seen_at),
       last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)
     where ${changed(['symbol', 'name', 'explorer', 'tokens'])}`,
    [
      rows.map((a) => a.id),
      rows.map((a) => a.symbol),
      rows.map((a) => a.name),
      rows.map((a) => a.explorer ?? null),
      rows.map((a) => JSON.stringify(a.tokens ?? {})),
      observedAt,
    ] as never[],
  )
}

async function upsertExchanges(sql: Db, schema: string, exchanges: Exchange[], observedAt: string): Promise<void> {
  const rows = exchangeDimensionRows(exchanges)
  if (rows.length === 0) return
  await sql.unsafe(
    `insert into "${schema}".exchanges as d (exchange_id, name, exchange_url, first_seen_at, last_seen_at)
     select id, name, url, $4::timestamptz, $4::timestamptz
     from unnest($1::text[], $2::text[], $3::text[]) as u(id, name, url)
     on conflict (exchange_id) do update set
       name = case when excluded.last_seen_at >= d.last_seen_at then excluded.name else d.name end,
       exchange_url = case when excluded.last_seen_at >= d.last_seen_at then excluded.exchange_url else d.exchange_url end,
       first_seen_at = least(d.first_seen_at, excluded.first_seen_at),
       last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)
     where ${changed(['name', 'exchange_url'])}`,
    [rows.map((e) => e.exchangeId), rows.map((e) => e.name), rows.map((e) => e.exchangeUrl), observedAt] as never[],
  )
}

async function keepRejected(
  sql: Db,
  schema: string,
  answer: Answer,
  rejected: RejectedRecord[],
  runId: number | null,
): Promise<void> {
  if (rejected.length === 0) return
  await sql.unsafe(
    `insert into "${schema}".rejected_records (run_id, dataset, observed_at, reason, record)
     select $1::bigint, $2::text, $3::timestamptz, reason, record::jsonb
     from unnest($4::text[], $5::text[]) as u(reason, record)
     on conflict do nothing`,
    [
      runId,
      answer.dataset,
      // An answer stamped past the year 9999 is kept at its end: Postgres reads no later ISO date.
      new Date(Math.min(answer.timestamp, MAX_STORABLE_MS)).toISOString(),
      rejected.map((r) => r.reason),
      rejected.map((r) => rejectedRecordJson(r.record)),
    ] as never[],
  )
}

/** How {@link loadAnswer} loads: a bulk writer for history rows, and the time taken for now. */
export interface LoadAnswerOptions {
  /** History rows go to this writer (and are counted there, not in the returned `rows`). */
  history?: BulkWriter
  /** Now in Unix ms (default `Date.now()`): nothing later than now plus the clock skew is stored. */
  now?: number
  /**
   * Where partitions are made (default: the caller's transaction). On a server, the pool: each partition
   * commits at once, so the parent table's exclusive lock that making one takes is not held until the load
   * ends, queueing every other writer (a cron run) behind a bulk load. (The embedded database has one connection.)
   */
  partitions?: Db
}

/** Every record of an answer that cannot be loaded as a whole, with one reason. */
const rejectAll = (answer: Answer, reason: string): RejectedRecord[] =>
  answer.data.map((record) => ({ record, reason }))

/** Why no record of `answer` can be loaded, if none can: a time beyond now, or a history line's bad asset id. */
function answerProblem(answer: Answer, latest: number): string | undefined {
  if (answer.timestamp > latest) {
    const at = answer.timestamp > MAX_STORABLE_MS ? String(answer.timestamp) : new Date(answer.timestamp).toISOString()
    return `the answer's timestamp ${at} is after now plus ${CLOCK_SKEW_MS / 60_000} minutes (a clock ahead?)`
  }
  const problem = answer.dataset === 'history' ? idProblem(answer.asset ?? '') : undefined
  return problem && `asset: ${problem}`
}

/**
 * Loads one answer (one landing line) inside the caller's transaction. Idempotent: loading the same
 * answer again inserts nothing. With `options.history`, history rows go to that writer so a large file
 * loads in big batches. History points outside the answer's window, and any time beyond now plus the clock
 * skew, are rejected records.
 */
export async function loadAnswer(
  sql: Db,
  schema: string,
  answer: Answer,
  runId: number | null,
  options: LoadAnswerOptions = {},
): Promise<AnswerLoad> {
  const latest = (options.now ?? Date.now()) + CLOCK_SKEW_MS
  const problem = answerProblem(answer, latest)
  if (problem) {
    const rejected = rejectAll(answer, problem)
    await keepRejected(sql, schema, answer, rejected, runId)
    return { table: answer.dataset, rows: 0, rejected: rejected.length }
  }
  const observedAt = new Date(answer.timestamp).toISOString()
  const ts = answer.timestamp
  let columns: Columns
  let rejected: RejectedRecord[]
  switch (answer.dataset) {
    case 'assets': {
      const v = validateRecords('assets', answer.data)
      await upsertAssets(sql, schema, v.valid, observedAt)
      columns = assetSnapshotRows(v.valid, ts, runId)
      rejected = v.rejected
      break
    }
    case 'exchanges': {
      const v = validateRecords('exchanges', answer.data)
      await upsertExchanges(sql, schema, v.valid, observedAt)
      columns = exchangeSnapshotRows(v.valid, ts, runId)
      rejected = v.rejected
      break
    }
    case 'markets': {
      const v = validateRecords('markets', answer.data)
      columns = marketSnapshotRows(v.valid, ts, runId)
      rejected = v.rejected
      break
    }
    case 'rates': {
      const v = validateRecords('rates', answer.data)
      columns = rateSnapshotRows(v.valid, ts, runId)
      rejected = v.rejected
      break
    }
    case 'history': {
      const window =
        answer.start !== undefined && answer.end !== undefined ? { start: answer.start, end: answer.end } : undefined
      const v = validateRecords('history', answer.data, window ? { window, latest } : { latest })
      columns = historyRows(answer.asset ?? '', answer.interval ?? '', v.valid, runId)
      rejected = v.rejected
      break
    }
  }
  await keepRejected(sql, schema, answer, rejected, runId)
  if (answer.dataset === 'history' && options.history) {
    await options.history.add(columns)
    return { table: columns.table, rows: 0, rejected: rejected.length }
  }
  const rows = await insertColumns(sql, schema, columns, options.partitions)
  return { table: columns.table, rows, rejected: rejected.length }
}
