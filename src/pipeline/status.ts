/**
 * `crypto-etl status`: how fresh each dataset is, the last runs, rows and size per table, the API credits
 * used this month, and with a maximum age a health verdict for monitoring. Nothing is printed here.
 */
import { CATALOGUE, DATASETS, type Dataset } from '../catalogue/index.js'
import { formatDuration } from '../config/time.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { recentRuns } from '../warehouse/reading/queries.js'
import {
  creditsSince,
  type LoadingRun,
  newestPerDataset,
  recentLoadingRuns,
  recentRunsWithFlag,
  type TableStats,
  tableStats,
} from '../warehouse/reading/status.js'

/** The flag of `run` that marks the runs of the schedule (`schedule` writes it, `etl_runs.args` records it). */
export const SCHEDULED_FLAG = '--scheduled'
/** Scheduled runs (`run --scheduled`, as `schedule` writes them) of this long before now are judged. */
const SCHEDULED_RUNS_WINDOW_MS = 7 * 86_400_000
/** Without scheduled runs: commands whose runs load snapshots, and how far back from the newest one they count. */
const LOADING_COMMANDS = ['run', 'load'] as const
const SCHEDULE_WINDOW_MS = 86_400_000

/**
 * Which runs the health check judges: those of the schedule; or, with none in the last 7 days, every
 * `run`/`load` of the day before the newest one; `--datasets` narrows either to the datasets named.
 */
export type WatchedBy = 'scheduled runs' | 'recent runs'

export interface DatasetStatus {
  dataset: Dataset
  table: string
  /** Newest `observed_at` (history: newest point `ts`), null when empty. */
  newest: Date | null
  ageMs: number | null
  /** Watched by `--max-age`: loaded by a scheduled run (see {@link WatchedBy}), or named in `--datasets`. */
  scheduled: boolean
}

export interface RunRow {
  run_id: number
  command: string
  status: string
  started_at: Date
  finished_at: Date | null
  duration_ms: number | null
  datasets: string[]
  rows: number
  rejected: number
  api_requests: number
  credits: number
  error: string | null
}

export interface Health {
  maxAgeMs: number
  healthy: boolean
  /** One line per problem, empty when healthy. */
  reasons: string[]
}

/** What `status` returns (and `--json` prints). */
export interface StatusResult {
  schema: string
  database: Warehouse['kind']
  now: Date
  datasets: DatasetStatus[]
  runs: RunRow[]
  tables: TableStats[]
  credits: { since: Date; used: number }
  /** The runs whose datasets are watched and whose outcome is judged. */
  watchedBy: WatchedBy
  /** Present when a maximum age was given. */
  health?: Health
}

export interface StatusOptions {
  /** The clock (injectable for tests). */
  now?: Date
  /** Makes it a health check: every scheduled dataset newer than this and the last loading run ok. */
  maxAgeMs?: number
  /** How many recent runs to list (default 5). */
  runs?: number
  /** Watch these datasets (and the runs that load them) instead of those the runs loaded. */
  datasets?: readonly Dataset[]
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 199)}…` : line
}

function checkHealth(loading: LoadingRun[], datasets: DatasetStatus[], now: Date, maxAgeMs: number): Health {
  const reasons: string[] = []
  const limit = formatDuration(maxAgeMs)
  if (loading.length === 0) reasons.push('no run or load recorded in etl_runs yet')
  // A run still going is not judged until it has taken longer than the maximum age.
  const last = loading.find((r) => r.status !== 'running' || now.getTime() - r.started_at.getTime() >= maxAgeMs)
  if (last?.status === 'running') {
    const age = formatDuration(now.getTime() - last.started_at.getTime())
    reasons.push(`${last.command} #${last.run_id} started ${age} ago and never finished (killed or stuck?)`)
  } else if (last && last.status !== 'ok') {
    reasons.push(
      `last ${last.command} #${last.run_id} ended ${last.status}${last.error ? `: ${oneLine(last.error)}` : ''}`,
    )
  }
  for (const d of datasets) {
    if (!d.scheduled) continue
    if (!d.newest || d.ageMs === null) reasons.push(`${d.dataset}: no data in ${d.table}`)
    else if (d.ageMs >= maxAgeMs) {
      reasons.push(
        `${d.dataset}: newest data is ${formatDuration(d.ageMs)} old (${d.newest.toISOString()}), older than ${limit}`,
      )
    }
  }
  return { maxAgeMs, healthy: reasons.length === 0, reasons }
}

/** Gathers the status of the warehouse; with `maxAgeMs`, also the health verdict. Read-only. */
export async function getStatus(warehouse: Warehouse, options: StatusOptions = {}): Promise<StatusResult> {
  const now = options.now ?? new Date()
  const { sql, schema } = warehouse
  const newest = await newestPerDataset(sql, schema)
  const datasets: DatasetStatus[] = DATASETS.map((dataset) => {
    const at = newest[dataset]
    return {
      dataset,
      table: CATALOGUE[dataset].table,
      newest: at,
      ageMs: at ? Math.max(0, now.getTime() - at.getTime()) : null,
      scheduled: false,
    }
  })
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
  const runs = (await recentRuns(sql, { limit: options.runs ?? 5 })) as unknown as RunRow[]
  const tables = await tableStats(sql, schema)
  const credits = { since: monthStart, used: await creditsSince(sql, monthStart) }
  const scheduledRuns = await recentRunsWithFlag(
    sql,
    SCHEDULED_FLAG,
    new Date(now.getTime() - SCHEDULED_RUNS_WINDOW_MS),
  )
  const watchedBy: WatchedBy = scheduledRuns.length > 0 ? 'scheduled runs' : 'recent runs'
  const judged =
    scheduledRuns.length > 0 ? scheduledRuns : await recentLoadingRuns(sql, LOADING_COMMANDS, SCHEDULE_WINDOW_MS)
  const named = options.datasets
  const loading = named ? judged.filter((r) => r.datasets.some((d) => named.includes(d as Dataset))) : judged
  const scheduled = new Set<string>(named ?? judged.flatMap((r) => r.datasets))
  for (const d of datasets) d.scheduled = scheduled.has(d.dataset)
  const result: StatusResult = { schema, database: warehouse.kind, now, datasets, runs, tables, credits, watchedBy }
  if (options.maxAgeMs !== undefined) {
    result.health = checkHealth(loading, datasets, now, options.maxAgeMs)
  }
  return result
}
