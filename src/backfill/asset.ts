/**
 * The backfill of one asset under its lock: each window not yet done is fetched, then loaded in one
 * transaction with its ledger mark; failures are marked `failed` for a re-run to retry.
 */
import type { CoincapClient } from '../coincap/index.js'
import { ApiAuthError, EtlError, ExitCode, InterruptedError, UsageError } from '../core/errors.js'
import { dropUntried, insertPending, markFailed, markFinished } from '../warehouse/ledgers/backfill.js'
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
  const { sql, schema } = warehouse
  const { signal, events } = options
  const key = { assetId: asset, interval }
  const { lock, holder } = await tryLock(warehouse, `backfill:${asset}:${interval}`, state.runId)
  if (!lock) {
    outcome.status = 'skipped'
    events?.assetSkipped?.(asset, `${describeHolder(holder)} holds the lock of ${asset} ${interval}`)
    return
  }
  try {
    // Planned again under the lock: another backfill may have finished windows since the plan was shown.
    const work = await planAsset(warehouse, ctx, asset)
    const plan = toAssetPlan(work, interval)
    outcome.windows.planned = plan.requests
    outcome.windows.skipped = plan.skipped
    await insertPending(sql, key, work.windows)
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
        const interrupted = interruption(error, signal)
        if (interrupted) throw interrupted
        const etl = toEtlError(error, { warehouse, signal })
        if (etl instanceof ApiAuthError) throw etl
        await markFailed(sql, key, window)
        outcome.windows.failed += 1
        state.failures.push(`${asset} ${isoOf(window.start)}..${isoOf(window.end)}: ${etl.message}`)
        state.firstError ??= etl
        events?.windowFailed?.(asset, window, etl)
        // A 400 or 404 (unknown asset) fails every window of this asset alike.
        if (etl instanceof UsageError) {
          outcome.error = etl.message
          await dropUntried(sql, key)
          break
        }
        if (etl.exitCode === ExitCode.apiUnavailable && ++consecutive >= MAX_CONSECUTIVE_FAILURES) throw etl
        continue
      }
      consecutive = 0
      let rows = 0
      let rejected = 0
      await checkDisk()
      await sql.begin(async (tx) => {
        for (const answer of got.answers) {
          throwIfAborted(signal)
          const loaded = await storeRows(tx, schema, answer)
          rows += loaded.rows
          rejected += loaded.rejected
        }
        if (got.status !== 'pending') await markFinished(tx, key, got.record, got.status, got.points)
        throwIfAborted(signal)
      })
      seenData ||= got.points > 0
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
        asset,
        ...window,
        status: got.status,
        points: got.points,
        expected,
        rows,
        requests: got.requests,
      })
    }
  } finally {
    await lock.release()
  }
  const finished = outcome.windows.done + outcome.windows.empty
  if (outcome.windows.failed > 0) outcome.status = finished > 0 ? 'partial' : 'failed'
}
