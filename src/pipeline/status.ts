/**
 * `crypto-etl status`: how fresh each dataset is, the last runs, rows and size per table, the API credits
 * used this month, and with a maximum age a health verdict for monitoring. Nothing is printed here.
 */
import { formatDuration } from '../config/time.js'
import type { Warehouse } from '../warehouse/connect.js'
import { recentRuns } from '../warehouse/queries.js'
import {
  creditsSince,
  DATASET_TABLES,
  type DatasetName,
  type LoadingRun,
  newestPerDataset,
  recentLoadingRuns,
  type TableStats,
  tableStats,
} from '../warehouse/status.js'

/** Commands whose runs load snapshots on a schedule: their datasets are the ones the health check watches. */
export const LOADING_COMMANDS = ['run', 'load'] as const
/** A dataset is scheduled when a loading run in the day before the newest one loaded it. */
export const SCHEDULE_WINDOW_MS = 86_400_000

export interface DatasetStatus {
  dataset: DatasetName
  table: string
  /** Newest `observed_at` (history: newest point `ts`), null when empty. */
  newest: Date | null
  ageMs: number | null
  /** Loaded by a recent `run` or `load`, so watched by `--max-age`. */
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
  const datasets: DatasetStatus[] = (Object.keys(DATASET_TABLES) as DatasetName[]).map((dataset) => {
    const at = newest[dataset]
    return {
      dataset,
      table: DATASET_TABLES[dataset],
      newest: at,
      ageMs: at ? Math.max(0, now.getTime() - at.getTime()) : null,
      scheduled: false,
    }
  })
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))
  const runs = (await recentRuns(sql, { limit: options.runs ?? 5 })) as unknown as RunRow[]
  const tables = await tableStats(sql, schema)
  const credits = { since: monthStart, used: await creditsSince(sql, monthStart) }
  const result: StatusResult = { schema, database: warehouse.kind, now, datasets, runs, tables, credits }
  const loading = await recentLoadingRuns(sql, LOADING_COMMANDS, SCHEDULE_WINDOW_MS)
  const scheduled = new Set(loading.flatMap((r) => r.datasets))
  for (const d of datasets) d.scheduled = scheduled.has(d.dataset)
  if (options.maxAgeMs !== undefined) {
    result.health = checkHealth(loading, datasets, now, options.maxAgeMs)
  }
  return result
}
