/**
 * `run`: one snapshot of the chosen datasets, extracted and loaded in one process: the cron entry point.
 * Datasets are fetched concurrently (the client's limiter keeps the pace) and each is loaded in its own
 * transaction, so one failing dataset leaves the others loaded (partial, exit 3) and nothing half-loaded.
 */
import type { Answer, CoincapClient } from '../coincap/index.js'
import {
  type EtlError,
  type Ending,
  endingOf,
  ExitCode,
  InterruptedError,
  PartialError,
  UsageError,
} from '../core/errors.js'
import { DEFAULT_LOCK_TIMEOUT_MS, type Warehouse } from '../warehouse/connection/connect.js'
import { retryOnLostSession } from '../warehouse/connection/connection-errors.js'
import { toEtlError } from '../warehouse/connection/database-errors.js'
import { loadAnswer } from './mapping.js'
import { retryOnLockTimeout } from '../warehouse/connection/lock-wait.js'
import { describeHolder, tryRunLock } from '../warehouse/ledgers/locks.js'
import { recordRun, recordSkippedRun, type RunOutcome, type RunStatus } from '../warehouse/ledgers/runs.js'
import type { SnapshotDataset } from '../catalogue/index.js'
import type { Selection } from './datasets.js'

/** Progress events, for spinners or log lines; the pipeline itself prints nothing. */
export interface RunEvents {
  datasetStarted?(dataset: SnapshotDataset): void
  datasetLoaded?(dataset: SnapshotDataset, outcome: DatasetOutcome): void
  datasetFailed?(dataset: SnapshotDataset, error: EtlError): void
  /** `--assets` ids CoinCap does not know: left out, the others load. */
  unknownAssets?(ids: readonly string[]): void
}

export interface RunOptions {
  version: string
  /** Recorded as the `etl_runs.command`: `run`, or `run --demo`. */
  command?: string
  signal?: AbortSignal
  events?: RunEvents
}

export interface DatasetOutcome {
  dataset: SnapshotDataset
  status: 'ok' | 'failed'
  /** New snapshot rows (0 when the same answer was already loaded). */
  rows: number
  /** Records seen in the answers. */
  records: number
  rejected: number
  error?: string
}

/** The run's summary: what `--json` prints and `etl_runs` records. */
export interface RunResult {
  runId: number | null
  status: Exclude<RunStatus, 'running'>
  datasets: DatasetOutcome[]
  /** Who holds the lock when the run was `skipped`: "run 41 (started 12:00:03 UTC, pid 1234 on host x) holds the lock". */
  heldBy?: string
  /** `--assets` ids CoinCap did not know: left out of the run (exit 2 once the rest is loaded). */
  unknownAssets: string[]
  api: { requests: number; credits: number; bytes: number; retries: number; waitedMs: number }
  ms: number
  /** The error the run ends with when it is not `ok` (nor `skipped`): its exit code is the command's. */
  error?: Ending
}

/** Pages of a dataset fetched ahead of its load: the network stays busy, memory stays at a few pages. */
const PAGES_AHEAD = 1

/**
 * Starts pulling `source` at once, at most `depth` answers ahead of the reader: every dataset's first
 * requests go out together, and a large one waits for its load instead of piling up in memory.
 */
function readAhead<T>(source: AsyncGenerator<T>, depth = PAGES_AHEAD): AsyncGenerator<T> {
  const pending: Promise<IteratorResult<T>>[] = []
  const pull = () => {
    const next = source.next()
    next.catch(() => {}) // awaited in turn; this only keeps an unread failure from being "unhandled"
    pending.push(next)
  }
  for (let i = 0; i < depth; i++) pull()
  return (async function* () {
    try {
      for (;;) {
        const result = await pending.shift()!
        if (result.done) return
        pull()
        yield result.value
      }
    } finally {
      source.return(undefined).catch(() => {})
    }
  })()
}

/**
 * Loads one dataset's answers as they arrive, in one transaction opened once the first answer is in: a
 * failing first request opens none, and a failure of a later one rolls back what came before it.
 */
async function loadDataset(
  warehouse: Warehouse,
  dataset: SnapshotDataset,
  answers: AsyncGenerator<Answer>,
  runId: number,
  signal: AbortSignal | undefined,
): Promise<DatasetOutcome> {
  const outcome: DatasetOutcome = { dataset, status: 'ok', rows: 0, records: 0, rejected: 0 }
  const first = await answers.next()
  await warehouse.sql.begin(async (tx) => {
    for (let next = first; !next.done; next = await answers.next()) {
      if (signal?.aborted) throw signal.reason
      const answer = next.value
      // Partitions are made in this short transaction: on the pool, a lost session's stale error would reach them too.
      const loaded = await loadAnswer(tx, warehouse.schema, answer, runId)
      outcome.rows += loaded.rows
      outcome.records += answer.data.length
      outcome.rejected += loaded.rejected
    }
  })
  return outcome
}

/** The other runs still running (a bulk load, a backfill), as `load run 12 is running`, if any. */
async function runningJobs(sql: Warehouse['sql'], runId: number): Promise<string | undefined> {
  const rows = await sql<{ run_id: number; command: string }[]>`
    select run_id, command from etl_runs where status = 'running' and run_id <> ${runId} order by run_id`
  if (rows.length === 0) return undefined
  const names = rows.map((r) => `${r.command} run ${r.run_id}`)
  return `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} running`
}

/**
 * Attempts at a dataset's transaction: a second one, on a new connection, when the session was lost under the
 * first (a database restart). The server rolled the first back, so the dataset loads whole or not at all; its
 * answers were not kept, so the second attempt asks CoinCap again.
 */
const LOAD_ATTEMPTS = 2

/**
 * Runs one snapshot and returns what it did, recorded in `etl_runs`. Returns `skipped` at once when another
 * run holds the lock. A run that is not `ok` carries the error it ends with (`error`), whose exit code tells
 * the user what to do: the interruption on a signal; 77 when CoinCap refused the key for any dataset; the
 * first dataset's error when all failed; 2 when CoinCap did not know some `--assets` ids (the others were
 * loaded); 3 (PartialError) when some datasets failed. It throws only when the run could not be recorded.
 */
export async function runSnapshot(
  warehouse: Warehouse,
  client: CoincapClient,
  selection: Selection,
  options: RunOptions,
): Promise<RunResult> {
  const started = performance.now()
  const { sql } = warehouse
  const start = {
    command: options.command ?? 'run',
    datasets: selection.datasets,
    version: options.version,
    signal: options.signal,
  }
  const { lock, holder } = await tryRunLock(warehouse)
  if (!lock) {
    const heldBy = `${describeHolder(holder)} holds the lock`
    const runId = await recordSkippedRun(sql, start, heldBy)
    const api = apiTotals(client)
    return { runId, status: 'skipped', heldBy, datasets: [], unknownAssets: [], api, ms: performance.now() - started }
  }
  try {
    return await recordRun(sql, start, async (runId) => {
      await lock.attach(runId)
      const loaded = await loadDatasets(warehouse, client, selection, options, runId)
      const result: RunResult = {
        runId,
        status: runStatus(loaded),
        datasets: loaded.outcomes,
        unknownAssets: loaded.unknownAssets,
        api: apiTotals(client),
        ms: performance.now() - started,
      }
      const ending = endingError(result, loaded.interrupted, loaded.errors)
      if (ending) result.error = endingOf(ending)
      return { result, outcome: runOutcome(result, loaded.interrupted) }
    })
  } finally {
    await lock.release()
  }
}

/** What loading the datasets of one run came to: each dataset's outcome, and why the run stopped, if it did. */
interface Loaded {
  outcomes: DatasetOutcome[]
  /** `--assets` ids CoinCap did not know. */
  unknownAssets: string[]
  /** The datasets' errors, in their order. */
  errors: EtlError[]
  interrupted?: InterruptedError
}

/**
 * Fetches every dataset at once and loads each in turn, each in its own transaction: a failing dataset is
 * an outcome, not an end (the others load); a stop signal ends the loop.
 */
async function loadDatasets(
  warehouse: Warehouse,
  client: CoincapClient,
  selection: Selection,
  options: RunOptions,
  runId: number,
): Promise<Loaded> {
  const { signal, events } = options
  const loaded: Loaded = { outcomes: [], unknownAssets: [], errors: [] }
  const { unknownAssets } = loaded
  const reported = reportUnknownAssets(selection, (ids) => {
    // A dataset loaded again (after a lost session) asks again: each id is reported once.
    const fresh = ids.filter((id) => !unknownAssets.includes(id))
    unknownAssets.push(...fresh)
    if (fresh.length > 0) events?.unknownAssets?.(fresh)
  })
  const fetches = new Map(
    reported.datasets.map((d) => {
      events?.datasetStarted?.(d)
      return [d, readAhead(client.snapshot(d, reported))] as const
    }),
  )
  for (const [dataset, fetching] of fetches) {
    try {
      let answers: AsyncGenerator<Answer> | undefined = fetching
      const load = () => {
        const stream = answers ?? readAhead(client.snapshot(dataset, reported))
        answers = undefined
        return loadDataset(warehouse, dataset, stream, runId, signal)
      }
      const loadOnce = () => retryOnLostSession(load, LOAD_ATTEMPTS, signal)
      // Another session's lock (a row of assets, a partition a bulk load holds) is waited for a few times.
      const outcome = await retryOnLockTimeout(loadOnce, warehouse.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, {
        signal,
        suspect: () => runningJobs(warehouse.sql, runId),
      })
      loaded.outcomes.push(outcome)
      events?.datasetLoaded?.(dataset, outcome)
    } catch (error) {
      if (error instanceof InterruptedError || signal?.aborted) {
        loaded.interrupted = signal?.reason instanceof InterruptedError ? signal.reason : (error as InterruptedError)
        break
      }
      const etl = toEtlError(error, { warehouse, signal })
      loaded.errors.push(etl)
      loaded.outcomes.push({ dataset, status: 'failed', rows: 0, records: 0, rejected: 0, error: etl.message })
      events?.datasetFailed?.(dataset, etl)
    }
  }
  return loaded
}

function runStatus({ outcomes, unknownAssets, interrupted }: Loaded): RunResult['status'] {
  const failed = outcomes.filter((o) => o.status === 'failed').length
  if (interrupted) return 'interrupted'
  if (failed > 0 && failed === outcomes.length) return 'failed'
  return failed > 0 || unknownAssets.length > 0 ? 'partial' : 'ok'
}

/** What `etl_runs` records of a run: its status, rows per dataset, credits, and what went wrong. */
function runOutcome(result: RunResult, interrupted: InterruptedError | undefined): RunOutcome {
  const { datasets, unknownAssets } = result
  const problems = [
    ...datasets.filter((o) => o.status === 'failed').map((o) => `${o.dataset}: ${o.error}`),
    ...(unknownAssets.length > 0 ? [`${unknownAssetsText(unknownAssets)}: left out, the other assets loaded`] : []),
  ]
  return {
    status: result.status,
    rows: Object.fromEntries(datasets.map((o) => [o.dataset, o.rows])),
    rejected: datasets.reduce((n, o) => n + o.rejected, 0),
    apiRequests: result.api.requests,
    apiCredits: result.api.credits,
    error: interrupted?.message ?? problems.join('; '),
  }
}

/** The error a run that is not `ok` ends with: the one whose exit code tells the user what to do. */
function endingError(
  result: RunResult,
  interrupted: InterruptedError | undefined,
  errors: EtlError[],
): EtlError | undefined {
  if (interrupted) return interrupted
  // A refused key or spent credits never heals by itself: 77 whatever the other datasets did.
  const auth = errors.find((e) => e.exitCode === ExitCode.auth)
  if (auth) return auth
  if (result.status === 'failed') return errors[0]
  if (result.unknownAssets.length > 0) {
    const others = result.datasets.some((o) => o.dataset === 'assets' && o.records > 0)
    return new UsageError(
      `${unknownAssetsText(result.unknownAssets)}${others ? `: run ${result.runId} loaded the other assets` : ''}.`,
      'Remove the id from --assets (it may be delisted); CoinCap ids are slugs such as bitcoin.',
    )
  }
  const failed = result.datasets.filter((o) => o.status === 'failed')
  if (failed.length === 0) return undefined
  return new PartialError(
    `Partial run ${result.runId}: ${failed.map((o) => `${o.dataset} failed (${o.error})`).join('; ')}.`,
    'The other datasets were loaded; the next run may heal it.',
  )
}

function unknownAssetsText(ids: readonly string[]): string {
  return `CoinCap does not know asset${ids.length > 1 ? 's' : ''} ${ids.map((id) => `'${id}'`).join(', ')}`
}

/** The selection with unknown `--assets` ids handed to `report` instead of failing the assets dataset. */
function reportUnknownAssets(selection: Selection, report: (ids: readonly string[]) => void): Selection {
  if (!('ids' in selection.assets)) return selection
  return { ...selection, assets: { ...selection.assets, unknownIds: report } }
}

function apiTotals(client: CoincapClient): RunResult['api'] {
  const s = client.stats
  return { requests: s.requests, credits: s.credits, bytes: s.bytes, retries: s.retries, waitedMs: s.waitedMs }
}
