/**
 * The plan of a backfill: per asset, the windows of its range less what the `backfill_windows` ledger has
 * finished (or, filling gaps, the holes of stored history), with their requests, credits and duration.
 */
import { DEFAULT_HISTORY_WINDOW_MS, INTERVAL_MS, type Interval } from '../catalogue/index.js'
import { resolveOptions } from '../coincap/options.js'
import { estimateCredits } from '../coincap/stats.js'
import { UsageError } from '../core/errors.js'
import {
  firstWindowWithData,
  ledgerWindows,
  storedHistoryRange,
  topStoredAssets,
} from '../warehouse/ledgers/backfill.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { findHistoryGaps } from '../warehouse/reading/queries.js'
import type { AssetPlan, BackfillOptions, BackfillPlan } from './types.js'
import {
  bucketRange,
  estimateDurationMs,
  estimateWindowCredits,
  expectedPoints,
  gridWindows,
  isoOf,
  mergeWithinGrid,
  subtract,
  type TimeRange,
  windowSize,
} from '../pipeline/windows.js'

/** One asset's windows: its range, the grid over it, the windows to fetch, and its first window with data. */
export interface AssetWork {
  asset: string
  range: TimeRange | null
  grid: TimeRange[]
  windows: TimeRange[]
  firstData: number | null
}

/** The options resolved once: interval, bucket step, window size, range and the time of `now`. */
export interface BackfillContext {
  interval: Interval
  step: number
  windowMs: number
  range: TimeRange | null
  fillGaps: boolean
  now: number
}

/**
 * Checks the options (no I/O) and resolves the range and window size.
 * @throws UsageError (2) for a missing --from, --from after --to, a window shorter than one bucket.
 */
export function checkBackfillOptions(options: BackfillOptions): void {
  resolveContext(options)
}

/** The checks of {@link checkBackfillOptions}, returning what they resolve. */
export function resolveContext(options: BackfillOptions): BackfillContext {
  const now = options.now?.() ?? Date.now()
  const { interval } = options
  if (!options.from && !options.fillGaps) {
    throw new UsageError('Missing --from: give the start of the range, e.g. --from 90d or --from 2025-01-01.')
  }
  if (!options.from && options.to) throw new UsageError('--to needs --from.')
  return {
    interval,
    step: INTERVAL_MS[interval],
    windowMs: windowSize(interval, DEFAULT_HISTORY_WINDOW_MS[interval], options.windowMs),
    range: options.from ? bucketRange(interval, options.from, options.to, now) : null,
    fillGaps: Boolean(options.fillGaps),
    now,
  }
}

const overlaps = (a: TimeRange, b: TimeRange) => a.start < b.end && b.start < a.end

/** The windows one asset needs: the range's grid less what the ledger has finished (or, filling gaps, its holes). */
export async function planAsset(warehouse: Warehouse, ctx: BackfillContext, asset: string): Promise<AssetWork> {
  const { sql } = warehouse
  const key = { assetId: asset, interval: ctx.interval }
  const stored = ctx.range ? null : await storedHistoryRange(sql, key, ctx.step)
  const range = ctx.range ?? (stored && { start: stored.start, end: Math.min(stored.end, ctx.now) })
  const firstData = await firstWindowWithData(sql, key)
  if (!range || range.start >= range.end) return { asset, range, grid: [], windows: [], firstData }
  const grid = gridWindows(range, ctx.windowMs)
  const ledger = await ledgerWindows(sql, key, range, { withStored: ctx.fillGaps })
  const finished = ledger.filter((w) => w.status === 'done' || w.status === 'empty')
  if (!ctx.fillGaps) return { asset, range, grid, windows: subtract(grid, finished), firstData }
  const gaps = await findHistoryGaps(sql, {
    assetId: asset,
    interval: ctx.interval,
    from: new Date(range.start),
    to: new Date(range.end - ctx.step),
  })
  const holes = gaps.map((g) => ({ start: g.from.getTime(), end: g.to.getTime() + ctx.step }))
  // A finished window holding fewer points than CoinCap sent lost some since (a prune): fetch it again whole.
  const lost = finished.filter((w) => (w.stored ?? 0) < w.rows && holes.some((h) => overlaps(h, w)))
  const unknown = subtract(
    holes.flatMap((h) => gridWindows(h, ctx.windowMs)),
    finished,
  )
  const windows = [...lost, ...mergeWithinGrid(unknown, ctx.windowMs)]
    .map((w) => ({ start: w.start, end: w.end }))
    .sort((a, b) => a.start - b.start)
  return { asset, range, grid, windows, firstData }
}

/** One asset's work as the plan shows it, times as ISO text. */
export function toAssetPlan(work: AssetWork, interval: Interval): AssetPlan {
  const toFetch = work.windows.map((w) => ({
    start: isoOf(w.start),
    end: isoOf(w.end),
    points: expectedPoints(w, interval),
    credits: estimateWindowCredits(w, interval),
  }))
  return {
    asset: work.asset,
    from: work.range ? isoOf(work.range.start) : null,
    to: work.range ? isoOf(work.range.end) : null,
    windows: work.grid.length,
    skipped: work.grid.filter((g) => !work.windows.some((w) => overlaps(w, g))).length,
    toFetch,
    requests: toFetch.length,
    credits: toFetch.reduce((n, w) => n + w.credits, 0),
  }
}

/** Bytes of one `/assets` record (a 100-asset answer is ~44 KB), for the cost of `--top`. */
const ASSET_RECORD_BYTES = 450

/** The whole plan, with totals; `assetRequests` is the `/assets` request of `--top`. */
export function makePlan(
  ctx: BackfillContext,
  works: AssetWork[],
  assetRequests: BackfillPlan['assetRequests'],
): BackfillPlan {
  const { requestsPerMinute, concurrency } = resolveOptions({})
  const assets = works.map((w) => toAssetPlan(w, ctx.interval))
  const requests = assets.reduce((n, a) => n + a.requests, 0) + assetRequests.requests
  return {
    interval: ctx.interval,
    windowMs: ctx.windowMs,
    fillGaps: ctx.fillGaps,
    assets,
    assetRequests,
    totals: {
      windows: assets.reduce((n, a) => n + a.windows, 0),
      skipped: assets.reduce((n, a) => n + a.skipped, 0),
      requests,
      credits: assets.reduce((n, a) => n + a.credits, 0) + assetRequests.credits,
      durationMs: estimateDurationMs(requests, requestsPerMinute, concurrency),
    },
    rate: { requestsPerMinute, concurrency },
  }
}

/**
 * The plan of a backfill: windows to fetch per asset, requests, estimated credits and duration. Reads the
 * ledger; asks CoinCap nothing (`--top` takes the ids from the newest stored `/assets` snapshot).
 */
export async function planBackfill(warehouse: Warehouse, options: BackfillOptions): Promise<BackfillPlan> {
  const ctx = resolveContext(options)
  let ids: readonly string[]
  let assetRequests: BackfillPlan['assetRequests'] = { requests: 0, credits: 0 }
  if ('ids' in options.assets) ids = options.assets.ids
  else {
    const top = options.assets.top
    const stored = await topStoredAssets(warehouse.sql, top)
    ids = stored.ids
    assetRequests = {
      requests: 1,
      credits: estimateCredits(top * ASSET_RECORD_BYTES),
      note: stored.observedAt
        ? `ids of the top ${top} from the stored snapshot of ${stored.observedAt.toISOString()}; the backfill asks CoinCap (1 request)`
        : `no stored /assets snapshot to name the top ${top}: run 'crypto-etl run' first, or give --assets`,
    }
  }
  const works: AssetWork[] = []
  for (const asset of ids) works.push(await planAsset(warehouse, ctx, asset))
  return makePlan(ctx, works, assetRequests)
}
