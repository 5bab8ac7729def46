/**
 * The backfill of one asset under its lock: each window not yet done is fetched, then loaded in one
 * transaction with its ledger mark; failures are marked `failed` for a re-run to retry.
 */
import type { CoincapClient } from '../coincap/index.js'
import { ApiAuthError, EtlError, ExitCode, InterruptedError, UsageError } from '../core/errors.js'
import { dropUntried, insertPending, type LedgerKey, markFailed, markFinished } from '../warehouse/ledgers/backfill.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { toEtlError } from '../warehouse/connection/database-errors.js'
import { storeRows } from '../warehouse/writing/loader.js'
import { describeHolder, tryLock } from '../warehouse/ledgers/locks.js'
import { type BackfillContext, planAsset, toAssetPlan } from './plan.js'
import type { AssetOutcome, BackfillOptions } from './types.js'
import { diskGuard } from '../warehouse/embedded/disk.js'
import { completeWindow, type Fetched, fetchRange, prefetch, recentMs } from './window.js'
import { mapAnswer } from '../pipeline/mapping.js'
import { expectedPoints, isoOf, type TimeRange } from '../pipeline/windows.js'

/** Consecutive windows failing with 69 after which CoinCap is taken to be down and the backfill stops. */
const MAX_CONSECUTIVE_FAILURES = 3

/** The InterruptedError a signal or an error stands for, if any. */
export function interruption(error: unknown, signal: AbortSignal | undefined): InterruptedError | undefined {
  if (signal?.aborted && signal.reason instanceof InterruptedError) return signal.reason
  return error instanceof InterruptedError ? error : undefined
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason
}

/** What the assets of one backfill share: its `etl_runs` id, their outcomes, the failures and the first error. */
export interface RunState {
  runId: number
  outcomes: AssetOutcome[]
  failures: string[]
  firstError?: EtlError
}

/** An asset's outcome before its windows: `ok`, all counts 0. */
export function newOutcome(asset: string): AssetOutcome {
  return {
    asset,
    status: 'ok',
    windows: { planned: 0, skipped: 0, done: 0, empty: 0, failed: 0, short: 0 },
    points: 0,
    rows: 0,
    missing: 0,
    rejected: 0,
  }
}

/** Backfills one asset under its lock; throws only what ends the whole backfill (signal, key, database, API down). */
export async function backfillAsset(
  warehouse: Warehouse,
  ctx: BackfillContext,
  client: CoincapClient,
  outcome: AssetOutcome,
  state: RunState,
  options: BackfillOptions,
): Promise<void> {
  const { asset } = outcome
  const { interval } = ctx
  const { signal, events } = options
  const { lock, holder } = await tryLock(warehouse, `backfill:${asset}:${interval}`, state.runId)
  if (!lock) {
    outcome.status = 'skipped'
    events?.assetSkipped?.(asset, `${describeHolder(holder)} holds the lock of ${asset} ${interval}`)
    return
  }
  const job: AssetJob = { warehouse, ctx, outcome, state, options, key: { assetId: asset, interval } }
  try {
    // Planned again under the lock: another backfill may have finished windows since the plan was shown.
    const work = await planAsset(warehouse, ctx, asset)
    const plan = toAssetPlan(work, interval)
    outcome.windows.planned = plan.requests
    outcome.windows.skipped = plan.skipped
    await insertPending(warehouse.sql, job.key, work.windows)
    let seenData = false
    let consecutive = 0
    // Each answer is validated and mapped once, as it arrives: the window's points are counted from its rows.
    const fetch = (range: TimeRange) =>
      fetchRange(client, asset, interval, range).then((answer) => mapAnswer(answer, { runId: state.runId }))
    const checkDisk = diskGuard(warehouse.dataDir)
    for (const [window, fetching] of prefetch(work.windows, options.prefetch ?? 4, fetch)) {
      throwIfAborted(signal)
      const dataBefore = seenData || (work.firstData !== null && work.firstData < window.start)
      const recent = window.end > ctx.now - recentMs(ctx.step)
      let got: Fetched
      try {
        got = await completeWindow(fetch, window, interval, await fetching, { dataBefore, recent })
      } catch (error) {
        const failed = await recordFailure(job, window, error)
        if (failed instanceof UsageError) break
        if (failed.exitCode === ExitCode.apiUnavailable && ++consecutive >= MAX_CONSECUTIVE_FAILURES) throw failed
        continue
      }
      consecutive = 0
      await checkDisk()
      await storeWindow(job, window, got)
      seenData ||= got.points > 0
    }
  } finally {
    await lock.release()
  }
  const finished = outcome.windows.done + outcome.windows.empty
  if (outcome.windows.failed > 0) outcome.status = finished > 0 ? 'partial' : 'failed'
}

/** What the steps of one asset's backfill share. */
interface AssetJob {
  warehouse: Warehouse
  ctx: BackfillContext
  outcome: AssetOutcome
  state: RunState
  options: BackfillOptions
  key: LedgerKey
}

/**
 * Marks a window that could not be fetched `failed` and counts it; returns its error for the caller's verdict.
 * Rethrows what ends the whole backfill: a signal or a refused key. A 400 or 404 (unknown asset) fails every
 * window of the asset alike, so its untried windows are dropped and the caller stops.
 */
async function recordFailure(job: AssetJob, window: TimeRange, error: unknown): Promise<EtlError> {
  const { warehouse, outcome, state, key } = job
  const { signal, events } = job.options
  const interrupted = interruption(error, signal)
  if (interrupted) throw interrupted
  const etl = toEtlError(error, { warehouse, signal })
  if (etl instanceof ApiAuthError) throw etl
  await markFailed(warehouse.sql, key, window)
  outcome.windows.failed += 1
  state.failures.push(`${outcome.asset} ${isoOf(window.start)}..${isoOf(window.end)}: ${etl.message}`)
  state.firstError ??= etl
  events?.windowFailed?.(outcome.asset, window, etl)
  if (etl instanceof UsageError) {
    outcome.error = etl.message
    await dropUntried(warehouse.sql, key)
  }
  return etl
}

/** Loads a fetched window's rows and its ledger mark in one transaction, then counts it in the outcome. */
async function storeWindow(job: AssetJob, window: TimeRange, got: Fetched): Promise<void> {
  const { warehouse, outcome, key } = job
  const { interval } = job.ctx
  const { signal, events } = job.options
  let rows = 0
  let rejected = 0
  await warehouse.sql.begin(async (tx) => {
    for (const answer of got.answers) {
      throwIfAborted(signal)
      const loaded = await storeRows(tx, warehouse.schema, answer)
      rows += loaded.rows
      rejected += loaded.rejected
    }
    if (got.status !== 'pending') await markFinished(tx, key, got.record, got.status, got.points)
    throwIfAborted(signal)
  })
  const expected = expectedPoints(got.record, interval)
  outcome.points += got.points
  outcome.rows += rows
  outcome.rejected += rejected
  if (got.status === 'done') outcome.windows.done += 1
  if (got.status === 'empty') outcome.windows.empty += 1
  if (got.status === 'done' && got.points < expected) {
    outcome.windows.short += 1
    outcome.missing += expected - got.points
  }
  events?.windowFinished?.({
    asset: outcome.asset,
    ...window,
    status: got.status,
    points: got.points,
    expected,
    rows,
    requests: got.requests,
  })
}
