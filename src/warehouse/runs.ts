/** Bookkeeping in `etl_runs`: one row per command run, `running` first, then its outcome. */
import { maskSecrets } from '../secrets.js'
import type { Db } from './connect.js'
import { retryOnLostSession } from './connection-errors.js'

export type RunStatus = 'running' | 'ok' | 'partial' | 'failed' | 'skipped' | 'interrupted'

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

/** Inserts a `running` row and returns its id. */
export async function startRun(
  sql: Db,
  command: string,
  datasets: readonly string[],
  version: string,
  status: RunStatus = 'running',
): Promise<number> {
  const [row] = await sql<{ run_id: string }[]>`
    insert into etl_runs (command, status, datasets, version, args)
    values (${command}, ${status}, ${sql.array([...datasets])}, ${version}, ${sql.array([...commandArgs])})
    returning run_id`
  return Number(row!.run_id)
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
