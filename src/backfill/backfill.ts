/**
 * `backfill`: `/assets/{id}/history` for assets, an interval and a range, in windows recorded in the
 * `backfill_windows` ledger so a re-run skips what is done and a killed run resumes where it stopped.
 * Windows are fetched a few ahead (the client's limiter keeps the pace) and loaded one at a time in time
 * order, each in one transaction with its ledger mark, so memory stays flat and nothing is half-recorded.
 * This file runs the whole backfill and records it; its parts live next to it: the plan and ledger
 * reconciliation (plan.ts), fetching a window (window.ts), the window loop of one asset
 * (asset.ts).
 */
import { type CoincapClient, validateRecords } from '../coincap/index.js'
import { ApiAuthError, EtlError, endingOf, ExitCode, type InterruptedError, PartialError } from '../core/errors.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { toEtlError } from '../warehouse/connection/database-errors.js'
import { recordRun } from '../warehouse/ledgers/runs.js'
import { backfillAsset, interruption, newOutcome, type RunState } from './asset.js'
import { type AssetWork, type BackfillContext, makePlan, planAsset, resolveContext } from './plan.js'
import type { AssetOutcome, BackfillAssets, BackfillOptions, BackfillResult } from './types.js'

export { checkBackfillOptions, planBackfill } from './plan.js'
export type { AssetOutcome, AssetPlan, BackfillEvents, BackfillOptions, BackfillPlan, BackfillResult } from './types.js'

async function resolveAssetIds(client: CoincapClient, assets: BackfillAssets): Promise<string[]> {
  if ('ids' in assets) return [...assets.ids]
  const ids: string[] = []
  for await (const answer of client.assets({ limit: assets.top })) {
    ids.push(...validateRecords('assets', answer.data).valid.map((a) => a.id))
  }
  return ids
}

function apiTotals(client: CoincapClient): BackfillResult['api'] {
  const s = client.stats
  const history = s.byDataset.history?.requests ?? 0
  return { requests: s.requests, historyRequests: history, credits: s.credits, bytes: s.bytes, retries: s.retries }
}

/**
 * Runs a backfill and returns what it did, recorded in `etl_runs`: plans (announced through `events.planned`
 * before any history request), then per asset under its lock fetches and loads each window not yet done. A
 * backfill that is not `ok` carries the error it ends with (`error`): PartialError (3) when some windows
 * failed (the ledger marks them `failed`; a re-run retries them), the first error when nothing could be done,
 * ApiAuthError (77) at once, the interruption on a signal. It throws only when it could not be recorded.
 */
export async function runBackfill(
  warehouse: Warehouse,
  client: CoincapClient,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const start = { command: 'backfill', datasets: ['history'], version: options.version, signal: options.signal }
  return recordRun(warehouse.sql, start, async (runId) => {
    const started = performance.now()
    const ctx = resolveContext(options)
    const state: RunState = { runId, failures: [], outcomes: [] }
    let stop: Stop = {}
    try {
      await backfillAssets(warehouse, client, ctx, state, options)
    } catch (error) {
      const interrupted = interruption(error, options.signal)
      const fatal = toEtlError(error, { warehouse, signal: options.signal })
      stop = interrupted ? { interrupted } : { fatal, unexpected: !(error instanceof EtlError) }
    }
    const result = backfillResult(state, stop, ctx, client, performance.now() - started)
    const failures = [stop.fatal?.message, ...state.failures.slice(0, 20)].filter(Boolean).join('; ')
    const outcome = {
      status: result.status,
      rows: { history: result.rows },
      rejected: state.outcomes.reduce((n, o) => n + o.rejected, 0),
      apiRequests: result.api.requests,
      apiCredits: result.api.credits,
      error: stop.interrupted?.message ?? (failures || undefined),
    }
    return { result, outcome }
  })
}

/** Why a backfill stopped before its last window, if it did. */
interface Stop {
  interrupted?: InterruptedError
  fatal?: EtlError
  /** The fatal error is not one crypto-etl raises (a driver's, a bug): it ends the backfill, whatever was done. */
  unexpected?: boolean
}

/** Resolves the assets, plans each, announces the plan, then backfills the assets one after the other. */
async function backfillAssets(
  warehouse: Warehouse,
  client: CoincapClient,
  ctx: BackfillContext,
  state: RunState,
  options: BackfillOptions,
): Promise<void> {
  const ids = await resolveAssetIds(client, options.assets)
  const works: AssetWork[] = []
  for (const asset of ids) works.push(await planAsset(warehouse, ctx, asset))
  const assetStats = client.stats.byDataset.assets
  const assetRequests = { requests: assetStats?.requests ?? 0, credits: assetStats?.credits ?? 0 }
  options.events?.planned?.(makePlan(ctx, works, assetRequests))
  for (const work of works) {
    const outcome = newOutcome(work.asset)
    state.outcomes.push(outcome)
    await backfillAsset(warehouse, ctx, client, outcome, state, options)
  }
}

/** The backfill's summary, with the error it ends with when it is not `ok`. */
function backfillResult(
  state: RunState,
  stop: Stop,
  ctx: BackfillContext,
  client: CoincapClient,
  ms: number,
): BackfillResult {
  const { outcomes } = state
  const count = (pick: (o: AssetOutcome) => number) => outcomes.reduce((n, o) => n + pick(o), 0)
  const finished = count((o) => o.windows.done + o.windows.empty)
  const failedWindows = count((o) => o.windows.failed)
  const failed = failedWindows > 0 || stop.fatal !== undefined
  const status: BackfillResult['status'] = stop.interrupted
    ? 'interrupted'
    : failed
      ? finished > 0
        ? 'partial'
        : 'failed'
      : outcomes.length > 0 && outcomes.every((o) => o.status === 'skipped')
        ? 'skipped'
        : 'ok'
  const rows = count((o) => o.rows)
  const result: BackfillResult = {
    runId: state.runId,
    status,
    interval: ctx.interval,
    windowMs: ctx.windowMs,
    fillGaps: ctx.fillGaps,
    assets: outcomes,
    rows,
    api: apiTotals(client),
    ms: Math.round(ms),
    rowsPerSecond: ms > 0 ? Math.round((rows * 1000) / ms) : 0,
  }
  const ending = endingError(status, state, stop, { finished, failedWindows })
  if (ending) result.error = endingOf(ending)
  return result
}

/**
 * The error a backfill that is not `ok` ends with: the interruption; a refused key (77) or a database or
 * internal failure, whatever was done before it; the first error when nothing was done; else, some windows
 * failed or CoinCap stopped answering, a partial backfill (3).
 */
function endingError(
  status: BackfillResult['status'],
  state: RunState,
  stop: Stop,
  counts: { finished: number; failedWindows: number },
): EtlError | undefined {
  const { interrupted, fatal } = stop
  if (interrupted) return interrupted
  if (fatal && (status === 'failed' || fatal instanceof ApiAuthError || stop.unexpected)) return fatal
  if (status === 'failed') return state.firstError ?? new EtlError('Backfill failed.', ExitCode.internal)
  if (status !== 'partial') return undefined
  const first = state.failures[0]
  return new PartialError(
    `Partial backfill (run ${state.runId}): ${counts.finished} windows loaded, ${counts.failedWindows} failed` +
      `${fatal ? `, then stopped: ${fatal.message}` : ''}${first ? ` (first: ${first})` : ''}.`,
    'The ledger (backfill_windows) marks them failed; run the same command again to retry only those.',
  )
}
