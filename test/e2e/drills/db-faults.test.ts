/**
 * Database drills that run in seconds: connections that die between and during runs (server), and an
 * embedded data directory that is locked by another process, not writable, or not a directory at all.
 * The slow ones (a backend killed in the middle of a large load, a killed CLI, a full or read-only disk)
 * are in db-kill.slow.test.ts.
 */
import { chmod, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type FixtureServer, type FixtureServerOptions, startFixtureServer } from '../../../src/demo/server.js'
import { startEmbedded } from '../../../src/warehouse/embedded/embedded.js'
import { runCli } from '../../helpers/cli.js'
import {
  adminSql,
  cleanupDrills,
  DRILL_NOW,
  expectCleanFailure,
  isRoot,
  NOBODY,
  onCleanup,
  prepareTarget,
  tempDir,
  terminateBackends,
  waitFor,
} from '../../helpers/drills.js'
import { copyEmbeddedTemplate } from '../../helpers/warehouse.js'

const servers: FixtureServer[] = []
afterAll(async () => {
  for (const s of servers) await s.close()
  await cleanupDrills()
})

async function fixtureServer(intercept?: FixtureServerOptions['intercept']) {
  const server = await startFixtureServer({ now: () => DRILL_NOW, intercept })
  servers.push(server)
  return server
}

async function backends(appName: string): Promise<number> {
  const [row] = await adminSql()`select count(*)::int as n from pg_stat_activity where application_name = ${appName}`
  return row!.n
}

describe('the server connection dies', () => {
  it('between two cron runs: the first leaves no connection behind, the second connects anew and exits 0', async () => {
    const server = await fixtureServer()
    const t = await prepareTarget('server', 'between_runs', server.url)
    expect((await runCli(['run'], { env: t.env })).code).toBe(0)
    expect(await backends(t.appName)).toBe(0)
    // What a restart looks like to clients: every session of this database user ended by the server.
    expect(await terminateBackends(t.appName)).toBe(0)
    const second = await runCli(['run', '--json'], { env: t.env })
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([0, 0, 0])
    expect(await t.count('asset_snapshots')).toBe(100)
    const runs = await t.query<{ status: string }>('select status from etl_runs order by run_id')
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok'])
  })

  it('while a run waits on the API: it reconnects, loads every dataset and exits 0 without a stack', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const server = await fixtureServer(async (_req, _res, url) => {
      if (url.pathname === '/v3/exchanges') await held
      return false
    })
    const t = await prepareTarget('server', 'during_run', server.url)
    const run = runCli(['run'], { env: t.env })
    await waitFor(
      async () => server.requests.includes('/v3/exchanges?limit=2000&offset=0') && (await backends(t.appName)) >= 1,
    )
    // Every connection of the run is killed, as by a server restart. (The run lock is a lease row now, with
    // no session of its own: how many pool connections are open at this moment depends on timing.)
    const killed = (await adminSql()`select pid from pg_stat_activity where application_name = ${t.appName}`).map(
      (r) => r.pid as number,
    )
    expect(await terminateBackends(t.appName, `pid in (${killed.join(', ')})`)).toBeGreaterThanOrEqual(1)
    // Wait for those backends to be gone, not for none at all: a dataset whose load lost its connection
    // reconnects at once (Node 22 and 24 are quick enough to do so before the API is released).
    await waitFor(
      async () => (await adminSql()`select 1 from pg_stat_activity where pid in ${adminSql()(killed)}`).length === 0,
    )
    release()
    const r = await run
    expect({ code: r.code, stack: r.stderr.includes('    at ') }, r.stderr).toEqual({ code: 0, stack: false })
    expect([
      await t.count('asset_snapshots'),
      await t.count('exchange_snapshots'),
      await t.count('rate_snapshots'),
    ]).toEqual([100, 14, 16])
    const runs = await t.query<{ status: string }>('select status from etl_runs')
    expect(runs.map((x) => x.status)).toEqual(['ok'])
  })
})

describe('the embedded data directory is held by another process', () => {
  it('run waits for it up to CRYPTO_ETL_LOCK_TIMEOUT, then exits 0 saying it skipped, asking CoinCap nothing', async () => {
    const server = await fixtureServer()
    const t = await prepareTarget('embedded', 'locked_run', server.url)
    const holder = await startEmbedded(t.dir!)
    try {
      const r = await runCli(['run'], { env: { ...t.env, CRYPTO_ETL_LOCK_TIMEOUT: '1s' } })
      expect(r.code).toBe(0)
      expect(r.stderr).toBe('warn: skipped: another crypto-etl process holds the embedded database\n')
      expect(server.requests).toEqual([])
    } finally {
      await holder.stop()
    }
  })

  it('run lands when the holder lets go within the wait (a dashboard reading, say)', async () => {
    const server = await fixtureServer()
    const t = await prepareTarget('embedded', 'held_run', server.url)
    const holder = await startEmbedded(t.dir!)
    const released = new Promise((resolve) => setTimeout(resolve, 2000)).then(() => holder.stop())
    const r = await runCli(['run', '--datasets', 'rates'], { env: t.env })
    await released
    expect(r.code).toBe(0)
    expect(r.stderr).not.toContain('skipped')
    expect(await t.count('rate_snapshots')).toBe(16)
  })

  it('load exits 74 naming the directory, having written nothing', async () => {
    const server = await fixtureServer()
    const t = await prepareTarget('embedded', 'locked_load', server.url)
    const file = join(await tempDir('locked'), 'rates.ndjson')
    await writeFile(file, `${JSON.stringify({ dataset: 'rates', timestamp: DRILL_NOW, data: [] })}\n`)
    const holder = await startEmbedded(t.dir!)
    let r: Awaited<ReturnType<typeof runCli>>
    try {
      r = await runCli(['load', file], { env: t.env })
    } finally {
      await holder.stop()
    }
    expect(expectCleanFailure(r, 74)).toEqual([
      `Error: Another crypto-etl process is using the embedded database in ${t.dir}.`,
      'Wait for it to finish, or point --data-dir elsewhere.',
    ])
    // It never got in: the schema was not even created.
    const [row] = await t.query<{ absent: boolean }>("select to_regclass('etl_runs') is null as absent")
    expect(row?.absent).toBe(true)
  })
})

describe('the embedded data directory cannot be written', () => {
  // Root ignores file permissions: as root the CLI runs as nobody, otherwise as this user.
  const user = isRoot() ? NOBODY : undefined

  it('exits 74 with a clear message when the existing data directory is read-only to the user', async () => {
    const dir = await copyEmbeddedTemplate()
    onCleanup(() => rm(dir, { recursive: true, force: true }))
    await chmod(dir, 0o555)
    const r = await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: dir }, user })
    await chmod(dir, 0o755)
    const [line] = expectCleanFailure(r, 74)
    expect(line).toContain(dir)
    expect(line).toContain('EACCES')
  })

  it('exits 74 when a new data directory cannot be created under a read-only parent', async () => {
    const parent = await tempDir('ro_parent')
    await chmod(parent, 0o555)
    const dir = join(parent, 'crypto-etl')
    const r = await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: dir }, user })
    expect(expectCleanFailure(r, 74)).toEqual([
      `Error: Cannot create the data directory ${dir}: EACCES.`,
      'Choose a writable --data-dir / CRYPTO_ETL_DATA_DIR.',
    ])
  })

  it('exits 74 when the data directory would be under a regular file', async () => {
    const file = join(await tempDir('enotdir'), 'a-file')
    await writeFile(file, 'not a folder\n')
    const r = await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: join(file, 'crypto-etl') } })
    expect(expectCleanFailure(r, 74)).toEqual([
      `Error: Cannot create the data directory ${join(file, 'crypto-etl')}: ENOTDIR.`,
      'Choose a writable --data-dir / CRYPTO_ETL_DATA_DIR.',
    ])
  })
})
