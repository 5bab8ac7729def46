/**
 * Migration 00005: the views BI tools read (latest_prices, price_points, latest_exchanges, latest_markets,
 * latest_rates, runs) agree with `query`'s reports on the same data, and every table, view and column of the
 * warehouse carries a comment that a BI catalogue shows.
 */
import { describe, expect, it } from 'vitest'
import { runQuery } from '../../src/pipeline/query.js'
import { useSeededWarehouse } from '../helpers/use-warehouse.js'
import { TARGETS } from '../helpers/warehouse.js'

export const BI_VIEWS = ['latest_exchanges', 'latest_markets', 'latest_prices', 'latest_rates', 'price_points', 'runs']

describe.each(TARGETS)('BI views and comments on the %s database', (target) => {
  const t = useSeededWarehouse(target, `bi_views_${target}`)
  const view = (name: string, where = '') =>
    t.warehouse.sql.unsafe(`select * from "${t.warehouse.schema}".${name} ${where}`) as Promise<
      Record<string, unknown>[]
    >

  it('creates the views', async () => {
    const rows = await t.warehouse.sql<{ name: string }[]>`
      select table_name as name from information_schema.views where table_schema = ${t.warehouse.schema} order by 1`
    expect(rows.map((r) => r.name)).toEqual(BI_VIEWS)
  })

  it('comments every table, view and column (partitions aside)', async () => {
    const missing = await t.warehouse.sql<{ name: string }[]>`
      select c.relname || coalesce('.' || a.attname, '') as name
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = ${t.warehouse.schema} and c.relkind in ('r', 'p', 'v') and not c.relispartition
        and (obj_description(c.oid, 'pg_class') is null
          or (a.attnum is not null and col_description(c.oid, a.attnum) is null))
      order by 1`
    expect(missing.map((r) => r.name)).toEqual([])
    const [count] = await t.warehouse.sql<{ n: number }[]>`
      select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${t.warehouse.schema} and c.relkind in ('r', 'p', 'v') and not c.relispartition`
    expect(count!.n).toBe(12 + BI_VIEWS.length)
  })

  it('latest_prices holds the rows and exact prices of query latest', async () => {
    const report = await runQuery(t.warehouse, { report: 'latest', limit: 100 })
    const rows = await view('latest_prices')
    expect(rows.map((r) => [r.asset_id, r.symbol, r.price_usd, r.market_cap_usd, r.observed_at])).toEqual(
      report.rows.map((r) => [r.asset_id, r.symbol, r.price, r.market_cap, r.observed_at]),
    )
    expect(rows[0]).toMatchObject({ asset_id: 'bitcoin', price_usd: '80800.000000000006984919' })
  })

  it('price_points holds every snapshot and history point of an asset, with its symbol', async () => {
    const rows = await view('price_points', `where asset_id = 'bitcoin' order by time, source, interval`)
    const at = (ms: number) => new Date(ms).toISOString()
    const h1 = (hours: number) => at(t.seeded.historyStart.getTime() + hours * 3_600_000)
    const dayBefore = at(Math.floor(t.seeded.at.getTime() / 86_400_000) * 86_400_000 - 86_400_000)
    expect(rows.map((r) => [r.source, r.interval, (r.time as Date).toISOString(), r.price_usd, r.symbol])).toEqual([
      ['history', 'd1', dayBefore, '78000', 'BTC'],
      ['history', 'h1', h1(0), '79000.5', 'BTC'],
      ['history', 'h1', h1(1), '79100', 'BTC'],
      ['history', 'h1', h1(4), '79400', 'BTC'],
      ['snapshot', null, at(t.seeded.t0.getTime()), '80000', 'BTC'],
      ['snapshot', null, at(t.seeded.t1.getTime()), '80400', 'BTC'],
      ['history', 'h1', h1(6), '79600.25', 'BTC'],
      ['snapshot', null, at(t.seeded.t2.getTime()), '80800.000000000006984919', 'BTC'],
    ])
  })

  it('latest_exchanges, latest_markets and latest_rates hold the newest answer, as query reports it', async () => {
    const exchanges = await runQuery(t.warehouse, { report: 'exchanges', limit: 100 })
    expect((await view('latest_exchanges')).map((r) => [r.exchange_id, r.volume_usd, r.percent_total_volume])).toEqual(
      exchanges.rows.map((r) => [r.exchange_id, r.volume_24h, r.share]),
    )
    const markets = await runQuery(t.warehouse, { report: 'markets', limit: 100 })
    expect((await view('latest_markets')).map((r) => [r.exchange_id, r.base_id, r.quote_id, r.price_usd])).toEqual(
      markets.rows.map((r) => [r.exchange_id, r.base_id, r.quote_id, r.price]),
    )
    const rates = await view('latest_rates')
    expect(rates.map((r) => [r.rate_id, r.symbol, r.rate_usd])).toEqual([
      ['bitcoin', 'BTC', '80800'],
      ['euro', 'EUR', '1.160000000000000000'],
      ['euro-token', 'EUR', '0.5'],
      ['united-states-dollar', 'USD', '1.0000000000000000'],
    ])
  })

  it('runs sums each run’s rows, as query runs does', async () => {
    const report = await runQuery(t.warehouse, { report: 'runs', limit: 100 })
    const rows = await view('runs', 'order by started_at desc, run_id desc')
    expect(rows.map((r) => [Number(r.run_id), r.status, Number(r.rows_loaded), r.api_credits])).toEqual(
      report.rows.map((r) => [r.run_id, r.status, r.rows, r.credits]),
    )
    expect(rows.map((r) => r.duration_seconds)).toEqual(report.rows.map(() => '5.000'))
  })
})
