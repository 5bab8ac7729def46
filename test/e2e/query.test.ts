import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { seedWarehouse } from '../helpers/seed.js'
import { openTestWarehouse, type TestWarehouse } from '../helpers/warehouse.js'
import { describeTarget } from '../../src/warehouse/connection/target.js'

/** The one stderr line of a command that succeeded: the warehouse it read. */
const warehouseLine = (t: TestWarehouse) => `Warehouse: ${describeTarget(t.settings)}\n`

const HOUR = 3_600_000

describe('query and status from the built CLI', () => {
  let fresh: TestWarehouse
  let stale: TestWarehouse
  beforeAll(async () => {
    fresh = await openTestWarehouse('server', 'e2e_query_fresh')
    stale = await openTestWarehouse('server', 'e2e_query_stale')
    await seedWarehouse(fresh.warehouse, new Date())
    await seedWarehouse(stale.warehouse, new Date(Date.now() - 2 * HOUR))
  })
  afterAll(async () => {
    await fresh?.cleanup()
    await stale?.cleanup()
  })

  it('query prints the latest prices as a table', async () => {
    const r = await runCli(['query'], { env: fresh.env })
    expect(r.stderr).toBe(warehouseLine(fresh))
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[1]).toMatch(/│ # │ Symbol │ Name +│ Price \(USD\) │ +24h │ Market cap \(USD\) │/)
    expect(lines[3]).toMatch(/^│ 1 │ BTC +│ Bitcoin +│ +80,800\.00 │ \+2\.35% │ +1\.60T │ +35\.12B │/)
    expect(r.stdout).not.toContain('\u001b[')
  })

  it('query --format json prints an array of rows with exact decimals', async () => {
    const r = await runCli(['query', 'latest', '--format', 'json', '--limit', '2'], { env: fresh.env })
    expect(r.code).toBe(0)
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[]
    expect(rows.map((row) => [row.asset_id, row.price, row.market_cap])).toEqual([
      ['bitcoin', '80800.000000000006984919', '1603123456789.123456789012345678'],
      ['ethereum', '2940', '354000000000.1'],
    ])
  })

  it('query --json prints the result object with its report, currency and rows', async () => {
    const r = await runCli(['query', '--json', '--limit', '1', '--currency', 'EUR'], { env: fresh.env })
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ report: 'latest', currency: 'EUR', rateUsd: '1.160000000000000000' })
    expect(result.rows[0].price).toBe('69655.172413793109469758')
  })

  it('query --format csv prints a header and one line per row', async () => {
    const r = await runCli(['query', 'gaps', '--asset', 'bitcoin', '--interval', 'h1', '--format', 'csv'], {
      env: fresh.env,
    })
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toBe('from,to,missing')
    expect(lines.map((l) => l.split(',')[2])).toEqual(['missing', '2', '1'])
  })

  it('query history --chart draws the price in braille', async () => {
    const r = await runCli(['query', 'history', '--symbol', 'btc', '--since', '7h', '--chart'], { env: fresh.env })
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')[0]).toBe('bitcoin price (USD), 7 points')
    expect(r.stdout).toMatch(/80,800\.00 ┤[\u2800-\u28ff]+/)
  })

  it('an unknown currency exits 2 naming it', async () => {
    const r = await runCli(['query', '--currency', 'XYZ'], { env: fresh.env })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      "Error: Unknown currency 'XYZ': no rate with that symbol in rate_snapshots.\nKnown currencies: EUR, USD, BTC.\n",
    )
  })

  it('an unknown report exits 2 listing the reports', async () => {
    const r = await runCli(['query', 'prices'], { env: fresh.env })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('expected one of latest, history, movers, exchanges, markets, runs, gaps')
  })

  it('--sql refuses a write with exit 2 and one line', async () => {
    const r = await runCli(['query', '--sql', 'drop table assets'], { env: fresh.env })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe(
      'Error: --sql runs one read-only query: it takes a SELECT, WITH, VALUES or TABLE query, not DROP.',
    )
    const after = await runCli(['query', '--sql', 'select count(*) as n from assets', '--format', 'json'], {
      env: fresh.env,
    })
    expect(JSON.parse(after.stdout)).toEqual([{ n: '6' }])
  })

  it('status --max-age 15m exits 0 when the data is fresh', async () => {
    const r = await runCli(['status', '--max-age', '15m'], { env: fresh.env })
    expect(r.stderr).toBe(warehouseLine(fresh))
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Healthy: every scheduled dataset is newer than 15m and the last run succeeded.')
  })

  it('status --max-age 15m exits 1 with one line per reason when the data is two hours old', async () => {
    const r = await runCli(['status', '--max-age', '15m'], { env: stale.env })
    expect(r.code).toBe(1)
    const lines = r.stderr.trim().split('\n')
    expect(lines.pop()).toBe(warehouseLine(stale).trim())
    expect(lines.map((l) => l.split(':').slice(0, 2).join(':'))).toEqual([
      'unhealthy: assets',
      'unhealthy: exchanges',
      'unhealthy: rates',
    ])
    expect(lines[0]).toMatch(/^unhealthy: assets: newest data is 2h\d*s? old \(.+\), older than 15m$/)
  })

  it('status --json exits 1 on stale data and still prints the whole result', async () => {
    const r = await runCli(['status', '--max-age', '15m', '--json'], { env: stale.env })
    expect(r.code).toBe(1)
    const result = JSON.parse(r.stdout)
    expect(result.health).toMatchObject({ healthy: false, maxAgeMs: 900_000 })
    expect(result.health.reasons).toHaveLength(3)
    expect(result.datasets.map((d: { dataset: string }) => d.dataset)).toEqual([
      'assets',
      'exchanges',
      'markets',
      'rates',
      'history',
    ])
  })
})
