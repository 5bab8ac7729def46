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
import { ApiAuthError, EtlError, ExitCode, type InterruptedError, PartialError, withResult } from '../core/errors.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { toEtlError } from '../warehouse/connection/database-errors.js'
import { finishRun, startRun } from '../warehouse/ledgers/runs.js'
import { backfillAsset, interruption, newOutcome, type RunState } from './asset.js'
import { type AssetWork, makePlan, planAsset, resolveContext } from './plan.js'
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
 * Runs a backfill: plans (announced through `events.planned` before any history request), then per asset
 * under its lock fetches and loads each window not yet done. Throws PartialError (3) when some windows
 * failed (the ledger marks them `failed`; a re-run retries them), the first error when nothing could be
 * done, ApiAuthError (77) at once, InterruptedError on a signal; `etl_runs` records every outcome.
 */
export async function runBackfill(
  warehouse: Warehouse,
  client: CoincapClient,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const started = performance.now()
  const ctx = resolveContext(options)
  const { sql } = warehouse
  const state: RunState = { runId: await startRun(sql, 'backfill', ['history'], options.version), failures: [] }
  const outcomes: AssetOutcome[] = []
  let fatal: unknown
  let interrupted: InterruptedError | undefined
  try {
    const ids = await resolveAssetIds(client, options.assets)
    const works: AssetWork[] = []
    for (const asset of ids) works.push(await planAsset(warehouse, ctx, asset))
    const assetStats = client.stats.byDataset.assets
    const assetRequests = { requests: assetStats?.requests ?? 0, credits: assetStats?.credits ?? 0 }
    options.events?.planned?.(makePlan(ctx, works, assetRequests))
    for (const work of works) {
      const outcome = newOutcome(work.asset)
      outcomes.push(outcome)
      await backfillAsset(warehouse, ctx, client, outcome, state, options)
    }
  } catch (error) {
    interrupted = interruption(error, options.signal)
    if (!interrupted) fatal = error
  }

  const count = (pick: (o: AssetOutcome) => number) => outcomes.reduce((n, o) => n + pick(o), 0)
  const finished = count((o) => o.windows.done + o.windows.empty)
  const failed = count((o) => o.windows.failed) > 0 || fatal !== undefined
  const status: BackfillResult['status'] = interrupted
    ? 'interrupted'
    : failed
      ? finished > 0
        ? 'partial'
        : 'failed'
      : outcomes.length > 0 && outcomes.every((o) => o.status === 'skipped')
        ? 'skipped'
        : 'ok'
  const rows = count((o) => o.rows)
  const ms = performance.now() - started
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
  const fatalText = fatal === undefined ? undefined : toEtlError(fatal, { warehouse, signal: options.signal }).message
  const error = interrupted?.message ?? [fatalText, ...state.failures.slice(0, 20)].filter(Boolean).join('; ')
  const recorded = finishRun(
    sql,
    state.runId,
    {
      status,
      rows: { history: rows },
      rejected: count((o) => o.rejected),
      apiRequests: result.api.requests,
      apiCredits: result.api.credits,
      error: error || undefined,
    },
    options.secrets,
  )
  // When the database itself failed, its error is the one to report, not a failed bookkeeping write.
  if (fatal !== undefined) await recorded.catch(() => {})
  else await recorded
  if (interrupted) throw interrupted
  if (fatal instanceof ApiAuthError) throw withResult(fatal, result)
  if (fatal !== undefined && status === 'failed') throw fatal
  if (fatal !== undefined && !(fatal instanceof EtlError)) throw fatal
  if (status === 'partial') {
    const failedWindows = count((o) => o.windows.failed)
    const partial = new PartialError(
      `Partial backfill (run ${state.runId}): ${finished} windows loaded, ${failedWindows} failed` +
        `${fatalText ? `, then stopped: ${fatalText}` : ''}${state.failures[0] ? ` (first: ${state.failures[0]})` : ''}.`,
      'The ledger (backfill_windows) marks them failed; run the same command again to retry only those.',
    )
    throw withResult(partial, result)
  }
  if (status === 'failed') throw state.firstError ?? new EtlError('Backfill failed.', ExitCode.internal)
  return result
}
