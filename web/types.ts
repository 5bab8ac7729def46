/** The JSON the endpoints answer (as `query --json` and `status --json` print it): decimals are strings. */

export type Row = Record<string, string | number | boolean | null | string[]>

export interface QueryAnswer {
  report: string
  currency: string
  rateUsd?: string
  assetId?: string
  since?: string
  until?: string
  columns: { name: string; kind: string }[]
  rows: Row[]
  demoRuns?: number[]
  /** history of a long range: the buckets its points were picked from, one per source in each. */
  buckets?: { from: string; ms: number; count: number }
}

export interface DatasetFreshness {
  dataset: string
  table: string
  newest: string | null
  ageMs: number | null
  scheduled: boolean
}

export interface RunAnswer {
  run_id: number
  command: string
  status: string
  started_at: string
  rows: number
  credits: number
  error: string | null
}

export interface StatusAnswer {
  now: string
  datasets: DatasetFreshness[]
  runs: RunAnswer[]
  credits: { since: string; used: number }
  watchedBy: string
  health?: { maxAgeMs: number; healthy: boolean; reasons: string[] }
  plan: { name: string; credits: number } | null
}

export interface MetaAnswer {
  version: string
  database: 'server' | 'embedded'
  schema: string
  refreshMs: number
  maxAgeMs: number
  plan: { name: string; credits: number } | null
  currencies: string[]
  ranges: string[]
}
