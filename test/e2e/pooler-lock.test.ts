/**
 * The run and backfill locks behind pgbouncer in transaction mode: a lock never outlives its process (a
 * session advisory lock stayed on the pooled backend, and every later run skipped), the skip names the
 * holder, and a holder killed outright is taken over and its run marked abandoned.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { startHistoryServer } from '../helpers/history-server.js'
import { warehouseQuery } from '../helpers/inspect.js'
import { type Pgbouncer, startPgbouncer } from '../helpers/pgbouncer.js'
import { Scratch } from '../helpers/scratch.js'

const scratch = new Scratch()
const admin = scratch.admin
const schema = scratch.schema('pooler_lock')
const query = warehouseQuery('server', admin, schema, {})
let pgbouncer: Pgbouncer
let release: () => void = () => {}
let held = Promise.resolve()
let server: FixtureServer

beforeAll(async () => {
  pgbouncer = await startPgbouncer('transaction')
  server = await startFixtureServer({
    intercept: async (_req, _res, url) => {
      if (url.pathname === '/v3/rates') await held // a run waits here, holding the lock
      return false
    },
  })
})
afterAll(async () => {
  release()
  await server?.close()
  await pgbouncer?.stop()
  await scratch.cleanup()
})

const env = () => ({
  DATABASE_URL: pgbouncer.url,
  CRYPTO_ETL_SCHEMA: schema,
  COINCAP_API_URL: server.url,
  COINCAP_API_KEY: 'e2e-pooler-key-3307',
  CRYPTO_ETL_API_RETRIES: '0',
})

const runs = () =>
  query<{ run_id: string; command: string; status: string; error: string | null }>(
    'select run_id, command, status, error from etl_runs order by run_id',
  )

/** Advisory locks of any backend on crypto-etl's keys for this schema (the old run lock). */
async function advisoryLocks(): Promise<number> {
  const [row] = await admin<{ n: number }[]>`
    select count(*)::int as n from pg_locks
    where locktype = 'advisory' and objsubid = 1
      and objid = any(select (hashtext(k)::bigint & 4294967295)::oid
        from unnest(array[${`crypto-etl:run:${schema}`}, ${`crypto-etl:backfill:bitcoin:d1:${schema}`}]) as k)`
  return row!.n
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

function holdRates(): void {
  held = new Promise<void>((resolve) => {
    release = resolve
  })
}

describe('the run lock through pgbouncer in transaction mode', () => {
  it('leaves no lock behind: run after run, each one runs', async () => {
    for (let i = 0; i < 3; i += 1) {
      const r = await runCli(['run', '--datasets', 'rates'], { env: env() })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).not.toContain('skipped')
    }
    expect(await advisoryLocks()).toBe(0)
    expect((await runs()).map((r) => r.status)).toEqual(['ok', 'ok', 'ok'])
  })

  it('skips a run while another holds the lock, naming it, and takes over from a holder killed outright', async () => {
    const before = (await runs()).length
    holdRates()
    const requests = server.requests.length
    let holderChild: import('node:child_process').ChildProcess | undefined
    const holder = runCli(['run', '--datasets', 'rates'], { env: env(), onSpawn: (child) => (holderChild = child) })
    await until(() => server.requests.slice(requests).includes('/v3/rates'))
    const holderPid = holderChild!.pid!
    const second = await runCli(['run', '--datasets', 'rates'], { env: env() })
    holderChild!.kill('SIGKILL')
    expect(second.code).toBe(0)
    const holding = (await runs())[before]!
    expect(second.stderr).toMatch(
      new RegExp(
        `^warn: skipped: run ${holding.run_id} \\(started \\d\\d:\\d\\d:\\d\\d UTC, pid ${holderPid} on host \\S+\\) holds the lock \\(recorded as run \\d+\\)$`,
        'm',
      ),
    )
    expect((await holder).signal).toBe('SIGKILL')
    release()

    const third = await runCli(['run', '--datasets', 'rates'], { env: env() })
    expect(third.code, third.stderr).toBe(0)
    expect(third.stderr).not.toContain('skipped')
    const after = (await runs()).slice(before)
    expect(after.map((r) => r.status)).toEqual(['abandoned', 'skipped', 'ok'])
    expect(after[0]!.error).toBe(
      `abandoned: pid ${holderPid} on host ${after[0]!.error!.split(' on host ')[1]!.split(' ')[0]} ended without recording an outcome (found by run ${after[2]!.run_id})`,
    )
    expect(await advisoryLocks()).toBe(0)
  })
})

describe('the backfill lock through pgbouncer in transaction mode', () => {
  it('lets backfill after backfill of the same asset and interval run, and names the holder when one runs', async () => {
    const history = await startHistoryServer({ latencyMs: 6000 })
    try {
      const backfillEnv = { ...env(), COINCAP_API_URL: history.url }
      const args = ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '2025-01-01']
      let holderPid = 0
      const first = runCli([...args, '--to', '2025-02-01'], {
        env: backfillEnv,
        onSpawn: (child) => (holderPid = child.pid!),
      })
      await until(() => history.history.length > 0)
      const during = await runCli([...args, '--to', '2025-02-01'], { env: backfillEnv })
      expect(during.code).toBe(0)
      expect(during.stderr).toMatch(
        new RegExp(
          `skipped bitcoin: run \\d+ \\(started \\d\\d:\\d\\d:\\d\\d UTC, pid ${holderPid} on host \\S+\\) holds the lock of bitcoin d1`,
        ),
      )
      expect((await first).code).toBe(0)
      const again = await runCli([...args, '--to', '2025-03-01'], { env: backfillEnv })
      expect(again.code, again.stderr).toBe(0)
      expect(again.stderr).not.toContain('skipped bitcoin')
      const [row] = await query<{ n: number }>('select count(*)::int as n from asset_history')
      expect(row?.n).toBe(59)
      expect(await advisoryLocks()).toBe(0)
    } finally {
      await history.close()
    }
  })
})

describe('a database that goes away under a run (the pooler stopped and started again)', () => {
  it('leaves the run running only until the next run, which marks it abandoned', async () => {
    const before = (await runs()).length
    holdRates()
    const requests = server.requests.length
    let pid = 0
    const cut = runCli(['run', '--datasets', 'rates'], { env: env(), onSpawn: (child) => (pid = child.pid!) })
    await until(() => server.requests.slice(requests).includes('/v3/rates'))
    await pgbouncer.stop()
    release()
    const ended = await cut
    expect(ended.code).toBe(74)
    expect((await runs()).slice(before).map((r) => r.status)).toEqual(['running'])

    pgbouncer = await startPgbouncer('transaction')
    const next = await runCli(['run', '--datasets', 'rates'], { env: env() })
    expect(next.code, next.stderr).toBe(0)
    const after = (await runs()).slice(before)
    expect(after.map((r) => r.status)).toEqual(['abandoned', 'ok'])
    expect(after[0]!.error).toMatch(
      new RegExp(
        `^abandoned: pid ${pid} on host \\S+ ended without recording an outcome \\(found by run ${after[1]!.run_id}\\)$`,
      ),
    )
  })
})
