/**
 * Locks another session holds: a row of `assets` or `exchanges` locked FOR UPDATE, `etl_runs` or a fact
 * table locked whole. Once `run` waited forever (and SIGTERM left it `running`); now every statement runs
 * with a lock_timeout (CRYPTO_ETL_LOCK_TIMEOUT, 1 s here), a run's dataset is tried 3 times, then exit 74
 * with a line naming the table, and a signal cancels the wait at once. Server only: the embedded database
 * has one connection in one process, so no other session can hold a lock there (a second process waits
 * for the data directory instead: db-faults.test.ts).
 */
import { execFileSync } from 'node:child_process'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { type CliResult, runCli, startCli } from '../../helpers/cli.js'
import {
  adminSql,
  cleanupDrills,
  DRILL_NOW,
  type DrillTarget,
  expectCleanFailure,
  fixture,
  prepareTarget,
  tempDir,
  waitFor,
} from '../../helpers/drills.js'
import { TEST_DATABASE_URL } from '../../helpers/env.js'

const HINT =
  'Find the holder in pg_stat_activity (a long transaction or a bulk load); raise CRYPTO_ETL_LOCK_TIMEOUT to wait longer.'

let api: FixtureServer
beforeAll(async () => {
  api = await startFixtureServer({ now: () => DRILL_NOW })
})
afterAll(async () => {
  await api.close()
  await cleanupDrills()
})

/** A target whose first run went through, so that `assets` and `exchanges` have rows to lock. */
async function loadedTarget(label: string): Promise<DrillTarget> {
  const t = await prepareTarget('server', label, api.url)
  expect((await runCli(['run'], { env: t.env })).code).toBe(0)
  t.env.CRYPTO_ETL_LOCK_TIMEOUT = '1s'
  return t
}

/** Another session that takes a lock with `statement` in an open transaction; `release()` rolls it back. */
async function holdLock(t: DrillTarget, statement: string): Promise<{ release(): Promise<void> }> {
  const other = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} })
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  let locked = () => {}
  const isLocked = new Promise<void>((resolve) => (locked = resolve))
  const tx = other
    .begin(async (sql) => {
      await sql.unsafe(`set local search_path to "${t.schema}"`)
      await sql.unsafe(statement)
      locked()
      await released
      throw new Error('rollback')
    })
    .catch(() => {})
  await isLocked
  return {
    async release() {
      release()
      await tx
      await other.end()
    },
  }
}

async function runsByStatus(t: DrillTarget): Promise<string[]> {
  const rows = await t.query<{ status: string }>('select status from etl_runs order by run_id')
  return rows.map((r) => r.status)
}

/**
 * How long the newest run took by its own record: the waits under test, without the process's start, which a
 * loaded machine stretches by seconds.
 */
async function lastRunMs(t: DrillTarget): Promise<number> {
  const [row] = await t.query<{ ms: number }>(
    'select (extract(epoch from finished_at - started_at) * 1000)::int as ms from etl_runs order by run_id desc limit 1',
  )
  return row!.ms
}

describe('a lock another session holds', () => {
  it.each([
    ['a row of assets', 'select * from assets where asset_id = $$bitcoin$$ for update', ['assets'], 'assets'],
    ['a row of exchanges', 'select * from exchanges for update', ['exchanges'], 'exchanges'],
    ['a fact table', 'lock table asset_snapshots in access exclusive mode', ['assets'], 'asset_snapshots'],
  ])('%s: run tries 3 times, then exits 74 naming it, recorded failed', async (_what, lock, datasets, table) => {
    const t = await loadedTarget('lock_row')
    const before = await t.count('asset_snapshots')
    const held = await holdLock(t, lock)
    let r: CliResult
    try {
      r = await runCli(['run', '--datasets', datasets.join(',')], { env: t.env })
    } finally {
      await held.release()
    }
    expect(expectCleanFailure(r, 74)).toEqual([
      `Error: Waited 3 × 1 s for a lock on ${table} held by another session.`,
      HINT,
    ])
    expect(await lastRunMs(t)).toBeLessThan(10_000)
    expect(await runsByStatus(t)).toEqual(['ok', 'failed'])
    expect(await t.count('asset_snapshots')).toBe(before)
  })

  it('etl_runs locked whole: run exits 74 naming it, having written nothing', async () => {
    const t = await loadedTarget('lock_runs')
    const held = await holdLock(t, 'lock table etl_runs in access exclusive mode')
    let r: CliResult
    try {
      r = await runCli(['run'], { env: t.env })
    } finally {
      await held.release()
    }
    expect(expectCleanFailure(r, 74)).toEqual([
      'Error: Waited 1 s for a lock on etl_runs held by another session.',
      HINT,
    ])
    expect(await runsByStatus(t)).toEqual(['ok'])
    expect(await t.count('run_leases')).toBe(0)
  })

  it('load waits once, then exits 74 naming the table, recorded failed, nothing loaded', async () => {
    const t = await loadedTarget('lock_load')
    const file = join(await tempDir('lockload'), 'rates.ndjson')
    const { data } = await fixture('rates')
    await writeFile(file, `${JSON.stringify({ dataset: 'rates', timestamp: DRILL_NOW + 60_000, data })}\n`)
    const before = await t.count('rate_snapshots')
    const held = await holdLock(t, 'lock table rate_snapshots in access exclusive mode')
    let r: CliResult
    try {
      r = await runCli(['load', file], { env: t.env })
    } finally {
      await held.release()
    }
    expect(expectCleanFailure(r, 74)).toEqual([
      'Error: Waited 1 s for a lock on rate_snapshots held by another session.',
      HINT,
    ])
    expect(await runsByStatus(t)).toEqual(['ok', 'failed'])
    expect(await t.count('rate_snapshots')).toBe(before)
  })
})

describe('a signal while waiting on a lock', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)('%s cancels the wait: exit %i within a second, one line, the run interrupted', async (signal, code) => {
    const t = await loadedTarget('lock_signal')
    t.env.CRYPTO_ETL_LOCK_TIMEOUT = '60s'
    const held = await holdLock(t, 'select * from assets where asset_id = $$bitcoin$$ for update')
    try {
      const { child, done } = startCli(['run', '--datasets', 'assets'], { env: t.env })
      // The run's backend waits on the row lock.
      await waitFor(async () => {
        const rows = await adminSql()`
          select 1 from pg_stat_activity where application_name = ${t.appName} and wait_event_type = 'Lock'`
        return rows.length > 0
      })
      const sent = performance.now()
      child.kill(signal)
      const { code: exited, stderr } = await done
      expect(exited).toBe(code)
      expect(performance.now() - sent).toBeLessThan(1500)
      expect(stderr).toBe(`warn: ${signal} received: stopping\nError: Interrupted by ${signal}.\n`)
    } finally {
      await held.release()
    }
    expect(await runsByStatus(t)).toEqual(['ok', 'interrupted'])
  })
})

describe('CRYPTO_ETL_LOCK_TIMEOUT', () => {
  it('must be a duration (78)', async () => {
    const r = await runCli(['status'], { env: { CRYPTO_ETL_LOCK_TIMEOUT: '10' } })
    expect(expectCleanFailure(r, 78)).toEqual([
      'Error: Invalid setting CRYPTO_ETL_LOCK_TIMEOUT: must be a duration such as 10s.',
    ])
  })
})

/** A `load` from a FIFO that has loaded `line` and waits for more (its writer went quiet); `end()` lets it finish. */
async function quietLoad(t: DrillTarget, line: object, table: string): Promise<{ end(): Promise<number | null> }> {
  const path = join(await tempDir('bulk'), 'landing.fifo')
  execFileSync('mkfifo', [path])
  const ended = startCli(['load', path], { env: t.env, timeoutMs: Infinity }).done.then((r) => r.code)
  const writer = await open(path, 'w')
  await writer.write(`${JSON.stringify(line)}\n`)
  await waitFor(async () => {
    const rows = await adminSql()`
      select 1 from pg_locks l join pg_stat_activity a using (pid)
      where a.application_name = ${t.appName} and l.relation = ${`"${t.schema}".${table}`}::regclass and l.granted`
    return rows.length > 0
  })
  return {
    async end() {
      await writer.close()
      return ended
    },
  }
}

describe('a routine run while a bulk load is in progress', () => {
  // Once making a partition held the parent's exclusive lock until the load ended, so the run waited for it all.
  it('does not queue behind the partitions the load made: the run exits 0 at once', async () => {
    const t = await loadedTarget('lock_bulk')
    const { data } = await fixture('rates')
    const day = 2 * 24 * 3600_000
    const load = await quietLoad(t, { dataset: 'rates', timestamp: DRILL_NOW + day, data }, 'rate_snapshots')
    let r: CliResult
    try {
      r = await runCli(['run', '--datasets', 'rates'], { env: t.env })
    } finally {
      expect(await load.end()).toBe(0)
    }
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 })
    expect(await lastRunMs(t)).toBeLessThan(5_000)
    expect(await runsByStatus(t)).toEqual(['ok', 'ok', 'ok'])
  })

  it('behind the asset rows a load keeps locked: 74 after 3 tries, naming the load', async () => {
    const t = await loadedTarget('lock_bulk_rows')
    const { data } = await fixture('assets')
    const load = await quietLoad(t, { dataset: 'assets', timestamp: DRILL_NOW + 60_000, data }, 'assets')
    let r: CliResult
    try {
      r = await runCli(['run', '--datasets', 'assets'], { env: t.env })
    } finally {
      expect(await load.end()).toBe(0)
    }
    expect(expectCleanFailure(r, 74)).toEqual([
      'Error: Waited 3 × 1 s for a lock on assets held by another session (load run 2 is running).',
      HINT,
    ])
    expect(await runsByStatus(t)).toEqual(['ok', 'ok', 'failed'])
  })
})

describe('prune behind a lock', () => {
  // Its first statement names the table only as a parameter (of a catalog lookup): the line cannot name it.
  it('exits 74 in one line, nothing removed', async () => {
    const t = await loadedTarget('lock_prune')
    const before = await t.count('asset_snapshots')
    const held = await holdLock(t, 'lock table asset_snapshots in access exclusive mode')
    let r: CliResult
    try {
      r = await runCli(['prune', '--older-than', '30d'], { env: t.env })
    } finally {
      await held.release()
    }
    expect(expectCleanFailure(r, 74)).toEqual(['Error: Waited 1 s for a lock held by another session.', HINT])
    expect(await t.count('asset_snapshots')).toBe(before)
  })
})
