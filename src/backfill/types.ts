/** The shapes of a backfill: its options, its plan, its progress events and its result. */
import type { Interval } from '../catalogue/index.js'
import type { Ending, EtlError } from '../core/errors.js'
import type { RunStatus } from '../warehouse/ledgers/runs.js'
import type { TimeRange } from '../pipeline/windows.js'

/** Which assets: these ids, or the top N by rank (one `/assets` request). */
export type BackfillAssets = { ids: readonly string[] } | { top: number }

export interface BackfillOptions {
  assets: BackfillAssets
  interval: Interval
  /** Start of the range; without it, `fillGaps` uses each asset's stored history. */
  from?: Date
  /** End of the range (default now); only completed buckets are fetched. */
  to?: Date
  /** Window per request (default {@link DEFAULT_HISTORY_WINDOW_MS}), rounded down to whole buckets. */
  windowMs?: number
  /** Fetch only windows with holes in stored history that CoinCap has not already confirmed. */
  fillGaps?: boolean
  version: string
  now?: () => number
  signal?: AbortSignal
  events?: BackfillEvents
  /** Windows fetched ahead of the one being loaded. Default 4. */
  prefetch?: number
}

/** A window of the plan, times as ISO text. */
export interface PlannedWindow {
  start: string
  end: string
  points: number
  credits: number
}

export interface AssetPlan {
  asset: string
  /** The asset's range (with `fillGaps` and no `from`: its stored history), or null when there is none. */
  from: string | null
  to: string | null
  /** Windows the range spans, and how many of them need nothing (done before, or no hole). */
  windows: number
  skipped: number
  toFetch: PlannedWindow[]
  requests: number
  credits: number
}

/** What `--plan` prints and a backfill announces before it spends anything. */
export interface BackfillPlan {
  interval: Interval
  windowMs: number
  fillGaps: boolean
  assets: AssetPlan[]
  /** The `/assets` request `--top` makes (0 with `--assets`), and where `--plan` took the ids from. */
  assetRequests: { requests: number; credits: number; note?: string }
  totals: { windows: number; skipped: number; requests: number; credits: number; durationMs: number }
  rate: { requestsPerMinute: number; concurrency: number }
}

export interface WindowProgress {
  asset: string
  start: number
  end: number
  status: 'done' | 'empty' | 'pending'
  points: number
  expected: number
  rows: number
  requests: number
}

/** Progress events, for a progress bar or log lines; the pipeline prints nothing. */
export interface BackfillEvents {
  planned?(plan: BackfillPlan): void
  assetSkipped?(asset: string, reason: string): void
  windowFinished?(progress: WindowProgress): void
  windowFailed?(asset: string, window: TimeRange, error: EtlError): void
}

export interface AssetOutcome {
  asset: string
  status: 'ok' | 'partial' | 'failed' | 'skipped'
  windows: { planned: number; skipped: number; done: number; empty: number; failed: number; short: number }
  /** Points CoinCap sent inside the windows, and the rows they added (0 for points already stored). */
  points: number
  rows: number
  /** Buckets of windows with data that CoinCap sent no point for: holes at the source. */
  missing: number
  rejected: number
  error?: string
}

/** The backfill's summary: what `--json` prints and `etl_runs` records. */
export interface BackfillResult {
  runId: number | null
  status: Exclude<RunStatus, 'running'>
  interval: Interval
  windowMs: number
  fillGaps: boolean
  assets: AssetOutcome[]
  rows: number
  api: { requests: number; historyRequests: number; credits: number; bytes: number; retries: number }
  ms: number
  rowsPerSecond: number
  /** The error the backfill ends with when it is not `ok` (nor `skipped`): its exit code is the command's. */
  error?: Ending
}
