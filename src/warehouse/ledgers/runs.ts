/** Bookkeeping in `etl_runs`: one row per command run, `running` first, then its outcome. */
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
}

/**
 * The arguments of this process's command, secrets removed, stored with every run it records. One command
 * runs per process, so the base command sets them once instead of threading them through every pipeline.
 */
let commandArgs: readonly string[] = []

/** Sets the (already masked) arguments recorded in `etl_runs.args` by the runs this process starts. */
export function setRunArgs(args: readonly string[]): void {
  commandArgs = [...args]
}

/** The runs of this process still `running`, with the renewal of each one's lease, for {@link interruptUnfinishedRuns}. */
const unfinished = new Map<number, { sql: Db; stop(): void }>()

/**
 * Inserts a run's row (`running` unless told otherwise) and returns its id. A `running` row comes with a
 * lease naming this process, renewed until the run finishes, so a later run can tell it from one whose
 * process died ({@link abandonDeadRuns}, which this calls).
 */
export async function startRun(
  sql: Db,
  command: string,
  datasets: readonly string[],
  version: string,
  status: RunStatus = 'running',
): Promise<number> {
  const { holder, pid, host } = LEASE_HOLDER
  const [row] = await sql<{ run_id: string }[]>`
    with run as (
      insert into etl_runs (command, status, datasets, version, args)
      values (${command}, ${status}, ${sql.array([...datasets])}, ${version}, ${sql.array([...commandArgs])})
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
export async function abandonDeadRuns(sql: Db, byRunId: number): Promise<number[]> {
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
 * Records the outcome of run `runId`; `secrets` are masked out of the error text. Tried again (up to
 * {@link FINISH_ATTEMPTS} in all) when the session died, so a run cut off by a lost connection is still
 * recorded once the database answers again.
 */
export async function finishRun(
  sql: Db,
  runId: number,
  outcome: RunOutcome,
  secrets: readonly string[] = [],
): Promise<void> {
  return retryOnLostSession(() => updateRun(sql, runId, outcome, secrets), FINISH_ATTEMPTS)
}

async function updateRun(sql: Db, runId: number, outcome: RunOutcome, secrets: readonly string[]): Promise<void> {
  unfinished.get(runId)?.stop()
  unfinished.delete(runId)
  await sql`delete from run_leases where name = ${runLeaseName(runId)}`
  await sql`
    update etl_runs set
      status = ${outcome.status},
      finished_at = now(),
      rows = ${sql.json(outcome.rows ?? {})},
      rejected = ${outcome.rejected ?? 0},
      api_requests = ${outcome.apiRequests ?? 0},
      api_credits = ${outcome.apiCredits ?? 0},
      error = ${outcome.error ? maskSecrets(outcome.error, secrets).slice(0, 2000) : null}
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
