/**
 * Stores one answer's rows: its dimension upserted, one fact row per entity per answer (`on conflict do
 * nothing`, so a re-load is a no-op), its rejected records kept in `rejected_records`. The rows come validated
 * and mapped (see rows.ts). Callers own the transaction: every function here takes the transaction's `sql`.
 */
import type { Db } from '../connection/connect.js'
import type { BulkWriter } from './bulk.js'
import { insertColumns, toText } from './insert.js'
import { type AnswerRows, type Cell, type Columns, rejectedRecordJson } from './rows.js'

/** What storing one answer did: new fact rows (duplicates of stored rows not counted) and rejected records. */
export interface AnswerLoad {
  table: string
  rows: number
  rejected: number
}

/**
 * How far `last_seen_at` may lag the newest observation: a dimension row is rewritten only when one of its
 * fields changed or it was last marked seen longer ago than this, so a run every five minutes does not
 * leave a dead row version per asset behind each time.
 */
const LAST_SEEN_RESOLUTION = '1 hour'

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

/** One row per key (the first cell; the last row wins): an upsert may not touch a row twice. */
function lastPerKey(rows: Cell[][]): Cell[][] {
  return [...new Map(rows.map((row) => [row[0], row])).values()]
}

/**
 * Upserts dimension rows seen at `observedAt`. Fields follow the newest observation, so loading an old file
 * never rolls a name or a symbol back; `first_seen_at` and `last_seen_at` only widen.
 */
async function upsertDimension(sql: Db, schema: string, dimension: Columns, observedAt: string): Promise<void> {
  const rows = lastPerKey(dimension.values)
  if (rows.length === 0) return
  const { table, names, types } = dimension
  const [key, ...fields] = names
  const seen = `$${names.length + 1}::timestamptz`
  const newest = (f: string) =>
    `${f} = case when excluded.last_seen_at >= d.last_seen_at then excluded.${f} else d.${f} end`
  await sql.unsafe(
    `insert into "${schema}".${table} as d (${names.join(', ')}, first_seen_at, last_seen_at)
     select ${names.map((n, i) => `u.${n}::${types[i]}`).join(', ')}, ${seen}, ${seen}
     from unnest(${names.map((_, i) => `$${i + 1}::text[]`).join(', ')}) as u(${names.join(', ')})
     on conflict (${key}) do update set
       ${fields.map(newest).join(',\n       ')},
       first_seen_at = least(d.first_seen_at, excluded.first_seen_at),
       last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)
     where ${changed(fields)}`,
    [...names.map((_, c) => rows.map((row) => toText(row[c]))), observedAt] as never[],
  )
}

async function keepRejected(sql: Db, schema: string, rows: AnswerRows): Promise<void> {
  if (rows.rejected.length === 0) return
  await sql.unsafe(
    `insert into "${schema}".rejected_records (run_id, dataset, observed_at, reason, record)
     select $1::bigint, $2::text, $3::timestamptz, reason, record::jsonb
     from unnest($4::text[], $5::text[]) as u(reason, record)
     on conflict do nothing`,
    [
      rows.runId,
      rows.dataset,
      rows.observedAt,
      rows.rejected.map((r) => r.reason),
      rows.rejected.map((r) => rejectedRecordJson(r.record)),
    ] as never[],
  )
}

/** How {@link storeRows} stores: a bulk writer for history rows, and where partitions are made. */
export interface StoreOptions {
  /** History rows go to this writer (and are counted there, not in the returned `rows`). */
  history?: BulkWriter
  /**
   * Where partitions are made (default: the caller's transaction). On a server, the pool: each partition
   * commits at once, so the parent table's exclusive lock that making one takes is not held until the load
   * ends, queueing every other writer (a cron run) behind a bulk load. (The embedded database has one connection.)
   */
  partitions?: Db
}

/**
 * Stores one answer's rows inside the caller's transaction. Idempotent: storing the same answer again inserts
 * nothing. With `options.history`, history rows go to that writer so a large file loads in big batches.
 */
export async function storeRows(
  sql: Db,
  schema: string,
  rows: AnswerRows,
  options: StoreOptions = {},
): Promise<AnswerLoad> {
  if (rows.dimension) await upsertDimension(sql, schema, rows.dimension, rows.observedAt)
  await keepRejected(sql, schema, rows)
  const { facts } = rows
  if (rows.dataset === 'history' && options.history) {
    await options.history.add(facts)
    return { table: facts.table, rows: 0, rejected: rows.rejected.length }
  }
  const inserted = await insertColumns(sql, schema, facts, options.partitions)
  return { table: facts.table, rows: inserted, rejected: rows.rejected.length }
}
