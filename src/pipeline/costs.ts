/**
 * Estimated CoinCap credits of `run`: per run of a set of datasets, per month of a cadence, and the plan
 * that fits. CoinCap bills 1 credit per call plus 1 per 2,500 bytes; the typical sizes (in the catalogue) come from
 * answers of known size (`/assets?limit=100` ~19 credits, `/exchanges?limit=100` ~11, `/rates` ~8,
 * `/markets?limit=2000` ~260, `/assets?ids=<10 slugs>` ~3).
 */
import { CATALOGUE, SNAPSHOT_DATASETS, type SnapshotDataset } from '../catalogue/index.js'
import { IDS_PER_REQUEST } from '../coincap/index.js'
import { estimateCredits } from '../coincap/stats.js'
import type { Settings } from '../config/settings.js'
import type { Logger } from '../core/log.js'
import type { Sql, Warehouse } from '../warehouse/connection/connect.js'
import { embeddedExists } from '../warehouse/embedded/embedded.js'
import { creditsOfRecentRuns } from '../warehouse/ledgers/runs.js'

/** CoinCap's monthly credits per plan, smallest first. */
export const PLANS = [
  { name: 'Free', credits: 4_000 },
  { name: 'Basic', credits: 75_000 },
  { name: 'Growth', credits: 225_000 },
  { name: 'Professional', credits: 675_000 },
  { name: 'Enterprise', credits: 5_000_000 },
] as const
export type Plan = (typeof PLANS)[number]
export const FREE_TIER_CREDITS = PLANS[0].credits

/** Records per request of a paged list (`limit=2000`, CoinCap's maximum). */
const RECORDS_PER_REQUEST = 2000

/** What narrows a run: `--limit` (top N assets) or `--assets` (these ids), and `--markets-limit`. */
export interface RunSelection {
  limit?: number
  assets?: readonly string[]
  marketsLimit?: number
}

/** Credits of `records` records of `bytesPerRecord` each, fetched in requests of at most `perRequest`. */
function pagedCredits(records: number, bytesPerRecord: number, perRequest: number): number {
  let credits = 0
  for (let left = records; left > 0; left -= perRequest) {
    credits += estimateCredits(Math.min(left, perRequest) * bytesPerRecord)
  }
  return Math.max(credits, estimateCredits(0))
}

/**
 * Records one run of `dataset` fetches: as many as the selection asks for (`--assets`, `--limit`,
 * `--markets-limit`), or the dataset's typical count (see the catalogue).
 */
export function recordsPerRun(dataset: SnapshotDataset, selection: RunSelection = {}): number {
  const selected: Partial<Record<SnapshotDataset, number | undefined>> = {
    assets: selection.assets?.length || selection.limit,
    markets: selection.marketsLimit,
  }
  return selected[dataset] ?? CATALOGUE[dataset].typical.records
}

/** Estimated credits of one dataset in one run, from typical record sizes. */
export function estimateDatasetCredits(dataset: SnapshotDataset, selection: RunSelection = {}): number {
  const byIds = dataset === 'assets' && Boolean(selection.assets?.length)
  const perRequest = byIds ? IDS_PER_REQUEST : RECORDS_PER_REQUEST
  return pagedCredits(recordsPerRun(dataset, selection), CATALOGUE[dataset].typical.bytesPerRecord, perRequest)
}

/** Estimated credits of one `run` of `datasets`, from typical sizes (e.g. assets,exchanges,rates: 38). */
export function estimateRunCredits(datasets: readonly SnapshotDataset[], selection: RunSelection = {}): number {
  return datasets.reduce((sum, dataset) => sum + estimateDatasetCredits(dataset, selection), 0)
}

const MONTH_MS = 30 * 86_400_000

/** Runs in a 30-day month at one run every `everyMs`. */
export function runsPerMonth(everyMs: number): number {
  return Math.floor(MONTH_MS / everyMs)
}

/** Credits a month of runs costing `creditsPerRun`, one every `everyMs` (30-day month). */
export function monthlyCredits(creditsPerRun: number, everyMs: number): number {
  return creditsPerRun * runsPerMonth(everyMs)
}

/** The smallest plan whose monthly credits cover `credits`; undefined beyond Enterprise. */
export function smallestPlan(credits: number): Plan | undefined {
  return PLANS.find((plan) => plan.credits >= credits)
}

/** Average credits of recent successful runs of one set of datasets. */
export interface MeasuredCredits {
  runs: number
  credits: number
}

/** The key of a dataset set in {@link recentRunCredits}: names in {@link SNAPSHOT_DATASETS} order, comma-joined. */
export function datasetsKey(datasets: readonly string[]): string {
  const order = (d: string) => (SNAPSHOT_DATASETS as readonly string[]).indexOf(d)
  return [...new Set(datasets)].sort((a, b) => order(a) - order(b) || a.localeCompare(b)).join(',')
}

/**
 * Average `api_credits` of the `ok` runs started since `since`, per set of datasets (keyed by
 * {@link datasetsKey}). Runs that counted no credits are left out.
 */
async function recentRunCredits(sql: Sql, since: Date): Promise<Map<string, MeasuredCredits>> {
  const out = new Map<string, MeasuredCredits>()
  for (const row of await creditsOfRecentRuns(sql, since)) {
    const key = datasetsKey(row.datasets)
    const seen = out.get(key)
    // The same set recorded in another order: merge, weighted by runs.
    const runs = (seen?.runs ?? 0) + row.runs
    const credits = Math.round(((seen?.credits ?? 0) * (seen?.runs ?? 0) + row.credits * row.runs) / runs)
    out.set(key, { runs, credits })
  }
  return out
}

const WEEK_MS = 7 * 86_400_000

/**
 * {@link recentRunCredits} of the last week, when a warehouse is configured or an embedded one already
 * exists (one is never created just for an estimate); undefined, with a warning when it could not be
 * read, otherwise.
 */
export async function measuredRunCredits(
  settings: Settings,
  open: () => Promise<Warehouse>,
  log: Logger,
  now: Date = new Date(),
): Promise<Map<string, MeasuredCredits> | undefined> {
  const db = settings.database
  if (db.kind === 'embedded' && !embeddedExists(db.dataDir)) return undefined
  try {
    const warehouse = await open()
    return await recentRunCredits(warehouse.sql, new Date(now.getTime() - WEEK_MS))
  } catch (error) {
    // A server without the tables yet has no runs to learn from.
    if ((error as { code?: string }).code === '42P01') return undefined
    log.warn(`Could not read recent runs (${(error as Error).message}); estimating from typical sizes.`)
    return undefined
  }
}
