/**
 * The backfill ledger, `backfill_windows`: one row per window asked of CoinCap, keyed by
 * `(asset_id, interval, window_start)`. `rows` of a finished window is the number of points CoinCap sent
 * for it (not the rows it added), so `expected - rows` are holes at the source.
 */
import type { Db, Sql } from '../connection/connect.js'

/** A window's state: `empty` is a window CoinCap sent no point for (a confirmed hole at the source). */
export type WindowStatus = 'pending' | 'done' | 'failed' | 'empty'

/** A ledger row, times in Unix ms. */
export interface LedgerWindow {
  start: number
  end: number
  status: WindowStatus
  rows: number
  attempts: number
  /** Points of `asset_history` in the window now (only when asked for). */
  stored?: number
}

/** One asset and interval of the ledger. */
export interface LedgerKey {
  assetId: string
  interval: string
}

interface LedgerRow {
  window_start: Date
  window_end: Date
  status: WindowStatus
  rows: number
  attempts: number
  stored?: number
}

const toWindow = (r: LedgerRow): LedgerWindow => ({
  start: r.window_start.getTime(),
  end: r.window_end.getTime(),
  status: r.status,
  rows: r.rows,
  attempts: r.attempts,
  ...(r.stored === undefined ? {} : { stored: r.stored }),
})

/** Ledger rows of one asset and interval that overlap `[start, end)`, oldest first; `withStored` counts stored points. */
export async function ledgerWindows(
  sql: Db,
  key: LedgerKey,
  range: { start: number; end: number },
  options: { withStored?: boolean } = {},
): Promise<LedgerWindow[]> {
  const stored = options.withStored
    ? sql`, (select count(*)::int from asset_history h where h.asset_id = w.asset_id and h.interval = w.interval
        and h.ts >= w.window_start and h.ts < w.window_end) as stored`
    : sql``
  const rows = await sql<LedgerRow[]>`
    select window_start, window_end, status, rows, attempts ${stored}
    from backfill_windows w
    where asset_id = ${key.assetId} and interval = ${key.interval}
      and window_start < ${new Date(range.end)} and window_end > ${new Date(range.start)}
    order by window_start`
  return rows.map(toWindow)
}

/** The start of the oldest window CoinCap sent points for, or null: before it, an empty window is no surprise. */
export async function firstWindowWithData(sql: Db, key: LedgerKey): Promise<number | null> {
  const [row] = await sql<{ at: Date | null }[]>`
    select min(window_start) as at from backfill_windows
    where asset_id = ${key.assetId} and interval = ${key.interval} and status = 'done' and rows > 0`
  return row?.at ? row.at.getTime() : null
}

/**
 * Records planned windows as `pending`. A window already in the ledger keeps its state; a pending or failed
 * one takes the new end (the last window of a range grows as time passes).
 */
export async function insertPending(sql: Db, key: LedgerKey, windows: readonly { start: number; end: number }[]) {
  if (windows.length === 0) return
  await sql`
    insert into backfill_windows (asset_id, interval, window_start, window_end, status)
    select ${key.assetId}, ${key.interval}, s, e, 'pending'
    from unnest(${windows.map((w) => new Date(w.start).toISOString())}::timestamptz[],
                ${windows.map((w) => new Date(w.end).toISOString())}::timestamptz[]) as u(s, e)
    on conflict (asset_id, interval, window_start) do update set window_end = excluded.window_end, updated_at = now()
    where backfill_windows.status in ('pending', 'failed') and backfill_windows.window_end <> excluded.window_end`
}

/**
 * Marks a window finished (`done` with the points CoinCap sent, or `empty`), counting the attempt. Call it in
 * the transaction that loaded the window's rows, so the mark and the rows commit together. Pending or failed
 * rows of an older plan that the window covers are dropped.
 */
export async function markFinished(
  tx: Db,
  key: LedgerKey,
  window: { start: number; end: number },
  status: 'done' | 'empty',
  points: number,
): Promise<void> {
  const start = new Date(window.start)
  const end = new Date(window.end)
  await tx`
    insert into backfill_windows (asset_id, interval, window_start, window_end, status, rows, attempts)
    values (${key.assetId}, ${key.interval}, ${start}, ${end}, ${status}, ${points}, 1)
    on conflict (asset_id, interval, window_start) do update set
      window_end = excluded.window_end, status = excluded.status, rows = excluded.rows,
      attempts = backfill_windows.attempts + 1, updated_at = now()`
  await tx`
    delete from backfill_windows
    where asset_id = ${key.assetId} and interval = ${key.interval} and status in ('pending', 'failed')
      and window_start > ${start} and window_end <= ${end}`
}

/** Marks a window failed, counting the attempt (the error itself goes to the run's `etl_runs.error`). */
export async function markFailed(sql: Db, key: LedgerKey, window: { start: number; end: number }): Promise<void> {
  await sql`
    insert into backfill_windows (asset_id, interval, window_start, window_end, status, attempts)
    values (${key.assetId}, ${key.interval}, ${new Date(window.start)}, ${new Date(window.end)}, 'failed', 1)
    on conflict (asset_id, interval, window_start) do update set
      status = 'failed', attempts = backfill_windows.attempts + 1, updated_at = now()
    where backfill_windows.status in ('pending', 'failed')`
}

/** Drops the pending windows never tried (an unknown asset's plan), so the ledger keeps only what was asked. */
export async function dropUntried(sql: Db, key: LedgerKey): Promise<void> {
  await sql`
    delete from backfill_windows
    where asset_id = ${key.assetId} and interval = ${key.interval} and status = 'pending' and attempts = 0`
}

/** The stored history of one asset and interval: first point to last point + one bucket, or null when none. */
export async function storedHistoryRange(
  sql: Db,
  key: LedgerKey,
  stepMs: number,
): Promise<{ start: number; end: number } | null> {
  const [row] = await sql<{ lo: Date | null; hi: Date | null }[]>`
    select min(ts) as lo, max(ts) as hi from asset_history where asset_id = ${key.assetId} and interval = ${key.interval}`
  if (!row?.lo || !row.hi) return null
  return { start: row.lo.getTime(), end: row.hi.getTime() + stepMs }
}

/**
 * The top `limit` asset ids by rank in the newest stored `/assets` snapshot (what `--plan --top` can know
 * without asking CoinCap), and that snapshot's time; empty when no snapshot is stored.
 */
export async function topStoredAssets(sql: Sql, limit: number): Promise<{ ids: string[]; observedAt: Date | null }> {
  const rows = await sql<{ asset_id: string; newest: Date }[]>`
    with newest as (select max(observed_at) as m from asset_snapshots),
    latest as (
      select distinct on (s.asset_id) s.asset_id, s.rank, newest.m as newest
      from asset_snapshots s, newest
      where s.observed_at > newest.m - interval '2 minutes' and s.observed_at <= newest.m
      order by s.asset_id, s.observed_at desc
    )
    select asset_id, newest from latest order by rank nulls last, asset_id limit ${limit}`
  return { ids: rows.map((r) => r.asset_id), observedAt: rows[0]?.newest ?? null }
}
