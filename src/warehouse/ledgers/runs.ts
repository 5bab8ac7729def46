/**
 * Bookkeeping in `etl_runs`: one row per command run, `running` first, then its outcome. {@link recordRun} is
 * the one way a pipeline records a run: it starts the row, finishes it with the outcome the work returns or
 * with the error it throws, and masks the secrets out of that error.
 */
import { InterruptedError } from '../../core/errors.js'
import { maskSecrets } from '../../core/secrets.js'
import type { Db } from '../connection/connect.js'
import { retryOnLostSession } from '../connection/connection-errors.js'
import { holderAlive, LEASE_HOLDER, LEASE_SECONDS, renewRunLease, runLeaseName } from './locks.js'

/** `abandoned`: found `running` by a later run although no process was working on it any more. */
export type RunStatus = 'running' | 'ok' | 'partial' | 'failed' | 'skipped' | 'interrupted' | 'abandoned'

/** What a finished run records. Counts are totals for the run; `rows` is per dataset or per table. */
export interface RunOutcome {
  status: Exclude<RunStatus, 'running'>
  rows?: Record<string, number>
  rejected?: number
  apiRequests?: number
  apiCredits?: number
  /** A one-line message; secrets are masked before it is stored. */
  error?: string
  /** What the run turned out to be, when its end tells (a load that found demo answers: `load --demo`). */
  command?: string
  datasets?: readonly string[]
}

/** What a run is, as its row starts: the command, the datasets it works on, the version of crypto-etl. */
export interface RunStart {
  command: string
  datasets: readonly string[]
  version: string
  /** The command's stop signal: a run that fails once it is aborted was `interrupted`. */
  signal?: AbortSignal
}

/**
 * The command this process runs, as every run it records stores it: its arguments (secrets removed), and the
 * secrets to mask out of a run's error. One command runs per process, so the base command sets it once
 * instead of threading it through every pipeline.
 */
let context: { args: readonly string[]; secrets: readonly string[] } = { args: [], secrets: [] }

/** Sets the (already masked) arguments recorded in `etl_runs.args`, and the secrets masked out of errors. */
export function setRunContext(args: readonly string[], secrets: readonly string[]): void {
  context = { args: [...args], secrets: [...secrets] }
}

/**
 * Records one run in `etl_runs` around `work`: the row starts `running` (with its lease), `work` gets its id,
 * and the row ends with the outcome `work` returns beside its result. When `work` throws, the row ends
 * `interrupted` (after the stop signal) or `failed` with the error's message and what `soFar` counts, and the
 * error is thrown on: recording it is best effort then (a row left `running` is abandoned by the next run).
 * Secrets are masked out of the stored error.
 */
export async function recordRun<T>(
  sql: Db,
  start: RunStart,
  work: (runId: number) => Promise<{ result: T; outcome: RunOutcome }>,
  soFar?: () => Omit<RunOutcome, 'status' | 'error'>,
): Promise<T> {
  const runId = await startRun(sql, start)
  let ended: { result: T; outcome: RunOutcome }
  try {
    ended = await work(runId)
  } catch (error) {
    const status = start.signal?.aborted || error instanceof InterruptedError ? 'interrupted' : 'failed'
    const message = error instanceof Error ? error.message : String(error)
    await finishRun(sql, runId, { ...soFar?.(), status, error: message }).catch(() => {})
    throw error
  }
  await finishRun(sql, runId, ended.outcome)
  return ended.result
}

/** Records a run that did not start its work (`reason`: another run holds the lock). Returns its id. */
export async function recordSkippedRun(sql: Db, start: RunStart, reason: string): Promise<number> {
  const runId = await startRun(sql, start, 'skipped')
  await sql`update etl_runs set finished_at = now(), error = ${mask(reason)} where run_id = ${runId}`
  return runId
}

/** `text` with the secrets masked, cut to what `etl_runs.error` keeps. */
function mask(text: string): string {
  return maskSecrets(text, context.secrets).slice(0, 2000)
}

/** The runs of this process still `running`, with the renewal of each one's lease, for {@link interruptUnfinishedRuns}. */
const unfinished = new Map<number, { sql: Db; stop(): void }>()

/**
 * Inserts a run's row (`running` unless told otherwise) and returns its id. A `running` row comes with a
 * lease naming this process, renewed until the run finishes, so a later run can tell it from one whose
 * process died ({@link abandonDeadRuns}, which this calls).
 */
async function startRun(sql: Db, start: RunStart, status: 'running' | 'skipped' = 'running'): Promise<number> {
  const { holder, pid, host } = LEASE_HOLDER
  const { command, datasets, version } = start
  const [row] = await sql<{ run_id: string }[]>`
    with run as (
      insert into etl_runs (command, status, datasets, version, args)
      values (${command}, ${status}, ${sql.array([...datasets])}, ${version}, ${sql.array([...context.args])})
      returning run_id
    ), lease as (
      insert into run_leases (name, holder, run_id, pid, host, expires_at)
      select ${runLeaseName('')} || run_id, ${holder}, run_id, ${pid}, ${host}, now() + make_interval(secs => ${LEASE_SECONDS})
      from run where ${status} = 'running'
    )
    select run_id from run`
  const runId = Number(row!.run_id)
  if (status === 'running') unfinished.set(runId, { sql, ...renewRunLease(sql, runId) })
  await abandonDeadRuns(sql, runId)
  return runId
}

/**
 * Marks `abandoned` every other `running` run whose process can no longer be working on it (its lease
 * expired, or named a process of this host that is gone, or there is none), with the reason in `error`.
 * Returns their ids.
 */
async function abandonDeadRuns(sql: Db, byRunId: number): Promise<number[]> {
  const rows = await sql<(LeaseRowOfRun & { run_id: number })[]>`
    select r.run_id::float8 as run_id, l.holder, l.run_id::float8 as lease_run_id, l.pid, l.host,
      l.acquired_at, l.expires_at < now() as expired
    from etl_runs r left join run_leases l on l.name = ${runLeaseName('')} || r.run_id
    where r.status = 'running' and r.run_id <> ${byRunId}`
  const abandoned: number[] = []
  for (const row of rows) {
    const holder =
      row.holder === null
        ? undefined
        : { ...row, holder: row.holder, runId: row.lease_run_id, acquiredAt: row.acquired_at }
    // As on a server: on the embedded database the dead holder is a process of this host.
    if (holder && holderAlive({ kind: 'server' }, holder)) continue
    const reason = holder
      ? `abandoned: pid ${holder.pid} on host ${holder.host} ended without recording an outcome (found by run ${byRunId})`
      : `abandoned: no process holds it (found by run ${byRunId})`
    const updated = await sql`
      update etl_runs set status = 'abandoned', finished_at = now(), error = ${reason}
      where run_id = ${row.run_id} and status = 'running' returning run_id`
    await sql`delete from run_leases where name = ${runLeaseName(row.run_id)}`
    if (updated.length > 0) abandoned.push(row.run_id)
  }
  return abandoned
}

interface LeaseRowOfRun {
  holder: string | null
  lease_run_id: number | null
  pid: number
  host: string
  acquired_at: Date
  expired: boolean
}

/**
 * Records the runs of this process still `running` as interrupted, for a process about to be ended
 * (the grace after a signal ran out). Best effort, within `timeoutMs`: what it misses, the next run abandons.
 */
export async function interruptUnfinishedRuns(reason: string, timeoutMs: number): Promise<void> {
  const updates = [...unfinished].map(async ([runId, { sql, stop }]) => {
    stop()
    await sql`update etl_runs set status = 'interrupted', finished_at = now(), error = ${reason}
      where run_id = ${runId} and status = 'running'`
    await sql`delete from run_leases where name = ${runLeaseName(runId)}`
    unfinished.delete(runId)
  })
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs)
  })
  await Promise.race([Promise.allSettled(updates), deadline])
  clearTimeout(timer)
}

/**
 * Attempts at recording an outcome. After the run's connection died, the pool reconnects for this update,
 * but postgres.js 3.4.9 fails the first query on a connection that died mid-query with that query's stale
 * error (porsager/postgres#1215): the next attempt gets through.
 */
const FINISH_ATTEMPTS = 3

/**
 * Records the outcome of run `runId`, its error masked. Tried again (up to {@link FINISH_ATTEMPTS} in all)
 * when the session died, so a run cut off by a lost connection is still recorded once the database answers.
 */
async function finishRun(sql: Db, runId: number, outcome: RunOutcome): Promise<void> {
  return retryOnLostSession(() => updateRun(sql, runId, outcome), FINISH_ATTEMPTS)
}

async function updateRun(sql: Db, runId: number, outcome: RunOutcome): Promise<void> {
  unfinished.get(runId)?.stop()
  unfinished.delete(runId)
  await sql`delete from run_leases where name = ${runLeaseName(runId)}`
  const datasets = outcome.datasets ? sql.array([...outcome.datasets]) : null
  await sql`
    update etl_runs set
      status = ${outcome.status},
      finished_at = now(),
      rows = ${sql.json(outcome.rows ?? {})},
      rejected = ${outcome.rejected ?? 0},
      api_requests = ${outcome.apiRequests ?? 0},
      api_credits = ${outcome.apiCredits ?? 0},
      error = ${outcome.error ? mask(outcome.error) : null},
      command = coalesce(${outcome.command ?? null}, command),
      datasets = coalesce(${datasets}::text[], datasets)
    where run_id = ${runId}`
}

/**
 * Marks run `runId` as rolled back by the prune run `byRunId`. A later `prune --run` of the same run (which
 * finds nothing left) keeps the first mark: that prune removed the rows.
 */
export async function markRolledBack(sql: Db, runId: number, byRunId: number | null): Promise<void> {
  await sql`
    update etl_runs set rolled_back_at = now(), rolled_back_by = ${byRunId}
    where run_id = ${runId} and rolled_back_at is null`
}

/** Per set of datasets, the `ok` runs since `since` that counted credits, and their average credits. */
export async function creditsOfRecentRuns(
  sql: Db,
  since: Date,
): Promise<{ datasets: string[]; runs: number; credits: number }[]> {
  return sql<{ datasets: string[]; runs: number; credits: number }[]>`
    select datasets, count(*)::int as runs, round(avg(api_credits))::int as credits
    from etl_runs
    where command = 'run' and status = 'ok' and api_credits > 0 and started_at >= ${since}
    group by datasets`
}
