/**
 * Loads CoinCap answers into the warehouse: dimensions upserted, one fact row per entity per answer
 * (`on conflict do nothing`, so a re-load is a no-op), records that fail validation kept in
 * `rejected_records`. Callers own the transaction: every function here takes the transaction's `sql`.
 */
import { type Asset, type Exchange, validateRecords } from '../coincap/schemas.js'
import type { Answer } from '../coincap/types.js'
import type { BulkWriter } from './bulk.js'
import type { Db } from './connect.js'
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
export async function insertColumns(sql: Db, schema: string, columns: Columns): Promise<number> {
  if (columns.values.length === 0) return 0
  if (columns.minTime && columns.maxTime) {
    await ensurePartitions(sql, schema, columns.table as PartitionedTable, columns.minTime, columns.maxTime)
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
       last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)`,
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
       last_seen_at = greatest(d.last_seen_at, excluded.last_seen_at)`,
    [rows.map((e) => e.exchangeId), rows.map((e) => e.name), rows.map((e) => e.exchangeUrl), observedAt] as never[],
  )
}

async function keepRejected(
  sql: Db,
  schema: string,
  answer: Answer,
  rejected: { record: unknown; reason: string }[],
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
      new Date(answer.timestamp).toISOString(),
      rejected.map((r) => r.reason),
      rejected.map((r) => rejectedRecordJson(r.record)),
    ] as never[],
  )
}

/**
 * Loads one answer (one landing line) inside the caller's transaction. Idempotent: loading the same
 * answer again inserts nothing. With `bulk`, history rows go to that writer (and are counted there, not in
 * the returned `rows`) so a large file loads in big batches.
 */
export async function loadAnswer(
  sql: Db,
  schema: string,
  answer: Answer,
  runId: number | null,
  bulk?: { history?: BulkWriter },
): Promise<AnswerLoad> {
  const observedAt = new Date(answer.timestamp).toISOString()
  const ts = answer.timestamp
  let columns: Columns
  let rejected: { record: unknown; reason: string }[]
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
      const v = validateRecords('history', answer.data)
      columns = historyRows(answer.asset ?? '', answer.interval ?? '', v.valid, runId)
      rejected = v.rejected
      break
    }
  }
  await keepRejected(sql, schema, answer, rejected, runId)
  if (answer.dataset === 'history' && bulk?.history) {
    await bulk.history.add(columns)
    return { table: columns.table, rows: 0, rejected: rejected.length }
  }
  const rows = await insertColumns(sql, schema, columns)
  return { table: columns.table, rows, rejected: rejected.length }
}
