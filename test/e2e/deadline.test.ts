/**
 * Every statement has a client-side deadline (CRYPTO_ETL_DB_TIMEOUT): a command whose database stops
 * answering exits 74 in bounded time instead of hanging a cron job. Here the database "stops answering"
 * because another session holds a lock the command's statement waits for.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { Scratch } from '../helpers/scratch.js'

const scratch = new Scratch()
const admin = scratch.admin
const schema = scratch.schema('deadline')
const location = (() => {
  const url = new URL(TEST_DATABASE_URL)
  return `${url.hostname}:${url.port || 5432}${url.pathname}`
})()
let api: FixtureServer
let dir: string
const env = () => ({
  DATABASE_URL: TEST_DATABASE_URL,
  CRYPTO_ETL_SCHEMA: schema,
  CRYPTO_ETL_DB_TIMEOUT: '2s',
  COINCAP_API_URL: api.url,
  COINCAP_API_KEY: 'e2e-deadline-key-1618',
  CRYPTO_ETL_API_RETRIES: '0',
})

beforeAll(async () => {
  api = await startFixtureServer()
  dir = await scratch.folder('deadline')
  expect((await runCli(['migrate'], { env: env() })).code).toBe(0)
  const extracted = await runCli(['extract', '--demo', '--output', join(dir, 'snapshot.ndjson')], { env: env() })
  expect(extracted.code).toBe(0)
})
afterAll(async () => {
  await api?.close()
  await scratch.cleanup()
})

/** Runs `fn` while another session holds an exclusive lock on `table` of the test's schema. */
async function whileLocked<T>(table: string, fn: () => Promise<T>): Promise<T> {
  let result: T | undefined
  const rollback = new Error('rollback')
  await admin
    .begin(async (tx) => {
      await tx.unsafe(`lock table "${schema}".${table} in access exclusive mode`)
      result = await fn()
      throw rollback
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error
    })
  return result!
}

describe('a database that stops answering', () => {
  it.each([
    ['status', () => ['status'], 'etl_runs'],
    ['query --sql', () => ['query', '--sql', 'select count(*) from etl_runs'], 'etl_runs'],
    ['run', () => ['run'], 'etl_runs'],
    // Inside load's transaction: its rollback must not wait on the dead connection either.
    ['load', () => ['load', join(dir, 'snapshot.ndjson'), '--allow-demo'], 'assets'],
  ])('%s exits 74 with "no answer" after CRYPTO_ETL_DB_TIMEOUT', async (_name, args, table) => {
    const r = await whileLocked(table, () => runCli(args(), { env: env(), timeoutMs: 30_000 }))
    expect(r.code, r.stderr).toBe(74)
    const lines = r.stderr.trim().split('\n')
    const error = lines.findIndex((l) => l.startsWith('Error: '))
    expect(lines.slice(error)).toEqual([
      `Error: No answer from the database at ${location} in 2 s.`,
      'Check the server (and any pooler in front of it); raise CRYPTO_ETL_DB_TIMEOUT if a statement needs longer.',
    ])
    expect(r.ms).toBeLessThan(15_000)
  })

  it('refuses a deadline that is not a duration with exit 78 naming the setting', async () => {
    const r = await runCli(['status'], { env: { ...env(), CRYPTO_ETL_DB_TIMEOUT: '10' } })
    expect(r.code).toBe(78)
    expect(r.stderr).toBe('Error: Invalid setting CRYPTO_ETL_DB_TIMEOUT: must be a duration such as 60s.\n')
  })
})
