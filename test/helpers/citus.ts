/**
 * The two-node Citus cluster of the Citus tests (coordinator and one worker, started by `.ci/citus-cluster`
 * from ../shared/citus/). A test file that finds no cluster starts it the same way, and fails saying why
 * when it cannot: the Citus tests never skip.
 */
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'

const START_SCRIPT = fileURLToPath(new URL('../../.ci/citus-cluster', import.meta.url))

const CITUS_DATABASE_URL = process.env.CITUS_DATABASE_URL || 'postgres://postgres@127.0.0.1:5440/postgres'

async function activeWorkers(url: string): Promise<number> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from citus_get_active_worker_nodes()`
    return row?.n ?? 0
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** The coordinator's URL once the cluster answers with a worker; throws saying why it cannot be had. */
export async function requireCitus(): Promise<string> {
  const found = await activeWorkers(CITUS_DATABASE_URL).catch(() => 0)
  if (found > 0) return CITUS_DATABASE_URL
  try {
    execFileSync(START_SCRIPT, { stdio: 'pipe', encoding: 'utf8' })
  } catch (error) {
    const why = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim()
    throw new Error(`No Citus cluster at ${CITUS_DATABASE_URL}, and .ci/citus-cluster could not start one: ${why}`)
  }
  if ((await activeWorkers(CITUS_DATABASE_URL).catch(() => 0)) === 0) {
    throw new Error(`The Citus cluster at ${CITUS_DATABASE_URL} has no active worker after .ci/citus-cluster.`)
  }
  return CITUS_DATABASE_URL
}
