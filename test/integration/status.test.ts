import { describe, expect, it } from 'vitest'
import { getStatus } from '../../src/pipeline/status.js'
import { loadMigrations, migrate } from '../../src/warehouse/migrate.js'
import { useSeededWarehouse, useTestWarehouse } from '../helpers/use-warehouse.js'
import { TARGETS } from '../helpers/warehouse.js'

const MIN = 60_000
const HOUR = 3_600_000
const later = (d: Date, ms: number) => new Date(d.getTime() + ms)

describe.each(TARGETS)('status on the %s database', (target) => {
  const t = useSeededWarehouse(target, `status_${target}`)
  const status = (nowOffsetMs: number, maxAgeMs?: number) =>
    getStatus(t.warehouse, { now: later(t.seeded.at, nowOffsetMs), maxAgeMs })
  /** Adds a run for one test and removes it afterwards. */
  async function withRun(status: string, startedOffsetMs: number, fn: (id: number) => Promise<void>, command = 'run') {
    const { sql } = t.warehouse
    const [row] = await sql<{ id: number }[]>`
      insert into etl_runs (command, started_at, status, datasets, error)
      values (${command}, ${later(t.seeded.at, startedOffsetMs)}, ${status}, ${sql.array(['assets'])},
        ${status === 'failed' ? 'CoinCap rejected the key (401).\nCheck COINCAP_API_KEY.' : null})
      returning run_id::int as id`
    try {
      await fn(row!.id)
    } finally {
      await sql`delete from etl_runs where run_id = ${row!.id}`
    }
  }

  it('gives the newest observation and its age per dataset, and which ones are scheduled', async () => {
    const r = await status(90_000)
    expect(r.datasets).toEqual([
      { dataset: 'assets', table: 'asset_snapshots', newest: t.seeded.at, ageMs: 90_000, scheduled: true },
      { dataset: 'exchanges', table: 'exchange_snapshots', newest: t.seeded.at, ageMs: 90_000, scheduled: true },
      { dataset: 'markets', table: 'market_snapshots', newest: t.seeded.at, ageMs: 90_000, scheduled: false },
      { dataset: 'rates', table: 'rate_snapshots', newest: t.seeded.at, ageMs: 90_000, scheduled: true },
      {
        dataset: 'history',
        table: 'asset_history',
        newest: later(t.seeded.historyStart, 6 * HOUR),
        ageMs: 90_000,
        scheduled: false,
      },
    ])
  })

  it('lists the last runs newest first', async () => {
    const r = await getStatus(t.warehouse, { now: t.seeded.at, runs: 2 })
    expect(r.runs.map((run) => [run.run_id, run.command, run.status, run.credits])).toEqual([
      [t.seeded.runs.t2, 'run', 'ok', 7],
      [t.seeded.runs.t1, 'run', 'ok', 5],
    ])
  })

  it('counts the rows of every table exactly while small, partitions summed into their table', async () => {
    const r = await status(0)
    const rows = Object.fromEntries(r.tables.map((x) => [x.table, [x.rows, x.estimated]]))
    expect(rows).toEqual({
      asset_history: [5, false],
      asset_snapshots: [15, false],
      assets: [6, false],
      backfill_windows: [0, false],
      etl_runs: [4, false],
      exchange_snapshots: [4, false],
      exchanges: [3, false],
      market_snapshots: [3, false],
      rate_snapshots: [5, false],
      rejected_records: [0, false],
      run_leases: [0, false],
      schema_migrations: [(await loadMigrations()).length, false],
    })
    expect(r.tables.every((x) => x.bytes > 0)).toBe(true)
  })

  it('sums the credits of the runs started this month (UTC)', async () => {
    const r = await status(0)
    expect(r.credits).toEqual({ since: new Date('2025-11-01T00:00:00Z'), used: 14 })
  })

  it('is healthy when every scheduled dataset is fresher than the maximum age and the last run succeeded', async () => {
    const r = await status(MIN, 15 * MIN)
    expect(r.health).toEqual({ maxAgeMs: 15 * MIN, healthy: true, reasons: [] })
  })

  it('is unhealthy with one reason per scheduled dataset when the data is two hours old', async () => {
    const r = await status(2 * HOUR, 15 * MIN)
    const newest = t.seeded.at.toISOString()
    expect(r.health).toEqual({
      maxAgeMs: 15 * MIN,
      healthy: false,
      reasons: [
        `assets: newest data is 2h old (${newest}), older than 15m`,
        `exchanges: newest data is 2h old (${newest}), older than 15m`,
        `rates: newest data is 2h old (${newest}), older than 15m`,
      ],
    })
  })

  it('has no health verdict without a maximum age', async () => {
    expect((await status(2 * HOUR)).health).toBeUndefined()
  })

  it('is unhealthy when the last run failed, with its error on one line', async () => {
    await withRun('failed', 30_000, async (id) => {
      const r = await status(MIN, 15 * MIN)
      expect(r.health?.reasons).toEqual([
        `last run #${id} ended failed: CoinCap rejected the key (401). Check COINCAP_API_KEY.`,
      ])
    })
  })

  it('does not judge a run in progress until it has run longer than the maximum age', async () => {
    await withRun('running', 30_000, async (id) => {
      expect((await status(MIN, 15 * MIN)).health?.healthy).toBe(true)
      const stuck = await status(14 * MIN + 30_000, 10 * MIN)
      expect(stuck.health?.reasons[0]).toBe(`run #${id} started 14m ago and never finished (killed or stuck?)`)
    })
  })

  it('counts a run with options, such as run --demo, as a run', async () => {
    await withRun(
      'failed',
      30_000,
      async (id) => {
        expect((await status(MIN, 15 * MIN)).health?.reasons[0]).toMatch(`last run --demo #${id} ended failed:`)
      },
      'run --demo',
    )
  })

  it('ignores skipped runs when looking for the last one', async () => {
    await withRun('skipped', 30_000, async () => {
      expect((await status(MIN, 15 * MIN)).health?.healthy).toBe(true)
    })
  })
})

describe.each(TARGETS)('status of an empty %s warehouse', (target) => {
  const t = useTestWarehouse(target, `status_empty_${target}`, migrate)

  it('fails the health check saying no run was recorded', async () => {
    const r = await getStatus(t.warehouse, { now: new Date('2025-11-22T12:00:00Z'), maxAgeMs: 15 * MIN })
    expect(r.health?.reasons).toEqual(['no run or load recorded in etl_runs yet'])
    expect(r.datasets.map((d) => [d.dataset, d.newest, d.ageMs, d.scheduled])).toEqual([
      ['assets', null, null, false],
      ['exchanges', null, null, false],
      ['markets', null, null, false],
      ['rates', null, null, false],
      ['history', null, null, false],
    ])
    expect(r.credits.used).toBe(0)
  })
})
