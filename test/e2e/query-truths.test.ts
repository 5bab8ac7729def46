import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startFixtureServer } from '../../src/demo/server.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { describeTarget } from '../../src/warehouse/connection/target.js'
import { ensurePartitions } from '../../src/warehouse/writing/partitions.js'
import { runCli } from '../helpers/cli.js'
import { cleanupDrills, prepareTarget } from '../helpers/drills.js'
import { DEFAULT_AT, type Seeded, seedWarehouse } from '../helpers/seed.js'
import { openTestWarehouse, TARGETS, type TestWarehouse } from '../helpers/warehouse.js'

const NO_H1_HISTORY =
  'No h1 history stored for bitcoin, so no gaps to find; load some first: crypto-etl backfill --assets bitcoin --interval h1 --from 30d'

describe.each(TARGETS)('query gaps without stored history on the %s database', (target) => {
  let t: TestWarehouse
  beforeAll(async () => {
    t = await openTestWarehouse(target, `e2e_gaps_empty_${target}`)
    await migrate(t.warehouse)
    if (target === 'embedded') await t.warehouse.close()
  })
  afterAll(async () => {
    await t?.cleanup()
  })

  it('says there is no history to check instead of "No gaps."', async () => {
    const r = await runCli(['query', 'gaps', '--asset', 'bitcoin', '--interval', 'h1'], { env: t.env })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${NO_H1_HISTORY}\n`)
    expect(r.stderr).toBe(`Warehouse: ${describeTarget(t.settings)}\n`)
  })

  it('keeps csv to its header and says it on stderr', async () => {
    const csv = await runCli(['query', 'gaps', '--asset', 'bitcoin', '--interval', 'h1', '--format', 'csv'], {
      env: t.env,
    })
    expect(csv.code).toBe(0)
    expect(csv.stdout).toBe('from,to,missing\n')
    expect(csv.stderr).toBe(`warn: ${NO_H1_HISTORY}\nWarehouse: ${describeTarget(t.settings)}\n`)
  })
})

describe('small truths of query, prune and status', () => {
  let t: TestWarehouse
  let s: Seeded
  beforeAll(async () => {
    t = await openTestWarehouse('server', 'e2e_query_truths')
    s = await seedWarehouse(t.warehouse, DEFAULT_AT)
    const { sql, schema } = t.warehouse
    await ensurePartitions(sql, schema, 'rate_snapshots', s.at, s.at)
    // Fifteen more currencies: more than the hint lists.
    await sql`insert into rate_snapshots (rate_id, observed_at, symbol, type, rate_usd)
      select 'coin-' || i, ${s.at}, 'C' || lpad(i::text, 2, '0'), 'crypto', i from generate_series(1, 15) i`
  })
  afterAll(async () => {
    await t?.cleanup()
  })
  const cli = (...args: string[]) => runCli(args, { env: t.env })

  it('gaps of an asset stored at another interval says that interval has nothing', async () => {
    const r = await cli('query', 'gaps', '--asset', 'bitcoin', '--interval', 'm5')
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe(
      'No m5 history stored for bitcoin, so no gaps to find; load some first: crypto-etl backfill --assets bitcoin --interval m5 --from 30d',
    )
  })

  it.each([
    [['prune', '--older-than', '0d'], "Error: --older-than: '0d' must be more than 0, e.g. 30d, or a date."],
    [
      ['prune', '--older-than', '00h', '--dry-run'],
      "Error: --older-than: '00h' must be more than 0, e.g. 30d, or a date.",
    ],
    [['prune', '--newer-than', '0s'], "Error: --newer-than: '0s' must be more than 0, e.g. 30d, or a date."],
    [['status', '--max-age', '0m'], "Error: --max-age: '0m' must be more than 0, e.g. 30d."],
    [
      ['query', 'history', '--symbol', 'BTC', '--since', '0w'],
      "Error: --since: '0w' must be more than 0, e.g. 30d, or a date.",
    ],
  ])('%j exits 2: a duration must be more than 0', async (args, line) => {
    const r = await runCli(args, { env: t.env })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe(line)
    const [row] = await t.warehouse.sql<{ n: number }[]>`select count(*)::int as n from asset_snapshots`
    expect(row!.n).toBe(15)
  })

  it('a converted csv names its currency in a column; json rows carry it too; USD output stays as it was', async () => {
    const csv = await cli('query', 'latest', '--currency', 'EUR', '--format', 'csv', '--limit', '1')
    expect(csv.code).toBe(0)
    expect(csv.stdout.split('\n')[0]).toBe(
      'rank,asset_id,symbol,name,price,change_24h,market_cap,volume_24h,currency,observed_at',
    )
    expect(csv.stdout.split('\n')[1]).toMatch(/^1,bitcoin,BTC,Bitcoin,69655\.17241379310946975\d*,2\.345678,.*,EUR,/)
    const window = ['--since', '2025-11-22T05:00:00Z', '--until', '2025-11-22T12:00:01Z']
    for (const report of [
      ['movers', ...window],
      ['exchanges'],
      ['markets'],
      ['history', '--asset', 'bitcoin', ...window],
    ]) {
      const r = await cli('query', ...report, '--currency', 'eur', '--format', 'json')
      expect(r.code).toBe(0)
      const rows = JSON.parse(r.stdout) as { currency: string }[]
      expect(rows.length).toBeGreaterThan(0)
      expect(rows.every((row) => row.currency === 'EUR')).toBe(true)
    }
    const usd = await cli('query', 'latest', '--format', 'csv', '--limit', '1')
    expect(usd.stdout.split('\n')[0]).toBe(
      'rank,asset_id,symbol,name,price,change_24h,market_cap,volume_24h,observed_at',
    )
    const table = await cli('query', 'latest', '--currency', 'EUR', '--limit', '1')
    expect(table.stdout).toContain('Price (EUR)')
    expect(table.stdout).not.toContain('│ EUR')
  })

  it('a one-point chart says "1 point" and draws a dash with one label and its time', async () => {
    const r = await cli(
      'query',
      'history',
      '--asset',
      'bitcoin',
      '--since',
      '2025-11-22T11:54:00Z',
      '--until',
      '2025-11-22T11:56:00Z',
      '--chart',
    )
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toBe('bitcoin price (USD), 1 point')
    expect(lines.filter((l) => l.includes('80,400.00'))).toHaveLength(1)
    expect(lines.find((l) => l.includes('80,400.00'))).toMatch(/^80,400\.00 ┤⠀+[⠈⠉⠁]{3,}⠀+$/)
    expect(lines.at(-1)!.trim()).toBe('2025-11-22 11:55:00Z')
  })

  it('prune agrees in number and its table has the same header style as query and status', async () => {
    const r = await cli('prune', '--older-than', '2025-11-22T11:58:00Z', '--datasets', 'exchanges', '--dry-run')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Dry run: would remove 1 row and 0 partitions observed before 2025-11-22T11:58:00.000Z.')
    expect(r.stdout).toMatch(/│ Table +│ Rows to remove │ Partitions dropped │ Delete batches │ +Size now → after │/)
  })

  it('the list of known currencies says how many it left out', async () => {
    const r = await cli('query', '--currency', 'XYZ')
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[1]).toBe(
      'Known currencies: EUR, USD, BTC, C01, C02, C03, C04, C05, C06, C07, C08, C09 and 6 more (crypto-etl query --sql "select distinct symbol from rate_snapshots").',
    )
  })
})

describe('query movers when nothing moved', () => {
  it('says no asset moved, not that none has two snapshots', async () => {
    try {
      const t = await prepareTarget('server', 'movers_flat')
      // The same answer twice, an hour apart: every asset has two snapshots with the same price.
      for (const at of [Date.now() - 2 * 3_600_000, Date.now() - 3_600_000]) {
        const server = await startFixtureServer({ now: () => at })
        const r = await runCli(['run', '--datasets', 'assets'], { env: { ...t.env, COINCAP_API_URL: server.url } })
        await server.close()
        expect(r.code, r.stderr).toBe(0)
      }
      expect(await t.count('asset_snapshots')).toBe(200)
      const r = await runCli(['query', 'movers', '--since', '3h'], { env: t.env })
      expect(r.code).toBe(0)
      expect(r.stdout).toBe('No asset moved in that period: none has two snapshots there with different prices.\n')
    } finally {
      await cleanupDrills()
    }
  })
})
