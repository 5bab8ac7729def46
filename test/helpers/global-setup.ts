/**
 * Prepares what integration and e2e tests share: a check that the Postgres server answers (a missing
 * database is a failure, never a skip) and a template embedded data directory, created once, that each
 * test copies instead of paying PGlite's few seconds of initdb.
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { startEmbedded } from '../../src/warehouse/embedded/embedded.js'
import { TEST_DATABASE_URL } from './env.js'

export default async function setup(): Promise<void> {
  const sql = postgres(TEST_DATABASE_URL, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    await sql`select 1`
  } catch (error) {
    throw new Error(
      `Integration tests need Postgres at ${TEST_DATABASE_URL} (set TEST_DATABASE_URL): ${(error as Error).message}`,
    )
  } finally {
    await sql.end()
  }
  const template = join(tmpdir(), 'crypto-etl-test-template')
  if (!existsSync(join(template, 'pgdata'))) {
    const server = await startEmbedded(template)
    await server.stop()
  }
  process.env.CRYPTO_ETL_TEST_TEMPLATE = template
}
