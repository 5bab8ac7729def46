/**
 * A small known dataset for report tests: six assets over three observations five minutes apart (one
 * asset missing from the newest), exchanges, markets, rates (USD, EUR, and a crypto "EUR" to lose to the
 * fiat one), runs in etl_runs, and bitcoin h1 history with two holes. Every time is relative to `at`,
 * the newest observation, so tests can seed fresh or stale data.
 */
import type { Warehouse } from '../../src/warehouse/connection/connect.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions, type PartitionedTable } from '../../src/warehouse/writing/partitions.js'

export const DEFAULT_AT = new Date('2025-11-22T12:00:00Z')
const MIN = 60_000
const HOUR = 3_600_000

export interface Seeded {
  /** The newest observation (t2). */
  at: Date
  /** Observations: t0 = at − 10 min, t1 = at − 5 min, t2 = at. */
  t0: Date
  t1: Date
  t2: Date
  /** Start of the bitcoin h1 history: points at +0, +1, +4 and +6 h (holes at +2–3 h and +5 h). */
  historyStart: Date
  /** Run ids: the `run` that loaded t1 and the one that loaded t2, a backfill, last month's run. */
  runs: { t1: number; t2: number; backfill: number; lastMonth: number }
}

type Row = Record<string, unknown>

const ASSETS: [string, string, string][] = [
  ['bitcoin', 'BTC', 'Bitcoin'],
  ['ethereum', 'ETH', 'Ethereum'],
  ['tether', 'USDT', 'Tether'],
  ['dogecoin', 'DOGE', 'Dogecoin'],
  ['shiba-inu', 'SHIB', 'Shiba Inu'],
  ['bitcoin-bep2', 'BTC', 'Bitcoin BEP2'],
]

/** Per asset: rank and price at t0, t1, t2 (null: not observed), then market cap, volume, 24 h change at t2. */
const SNAPSHOTS: Record<string, [number, (string | null)[], string, string, string]> = {
  bitcoin: [
    1,
    ['80000', '80400', '80800.000000000006984919'],
    '1603123456789.123456789012345678',
    '35123456789.5',
    '2.345678',
  ],
  ethereum: [2, ['3000', '2990', '2940'], '354000000000.1', '20000000000', '-1.5'],
  tether: [3, ['1.0001', '1.0001', '1.000100000000000000'], '140000000000', '50000000000', '0.004'],
  dogecoin: [4, ['0.2', '0.205', '0.210000000000000000'], '31000000000', '1500000000', '-0.5'],
  'shiba-inu': [5, ['0.000012340000000000', '0.000011969800000000', null], '7000000000', '200000000', '-3'],
  'bitcoin-bep2': [6, [null, null, '80700.5'], '500000', '1000', '0.1'],
}

async function insert(sql: Warehouse['sql'], table: string, rows: Row[]): Promise<void> {
  await sql`insert into ${sql(table)} ${sql(rows as Record<string, string>[])}`
}

/** Migrates the warehouse and inserts the known dataset; returns its times and run ids. */
export async function seedWarehouse(warehouse: Warehouse, at: Date = DEFAULT_AT): Promise<Seeded> {
  await migrate(warehouse)
  const { sql, schema } = warehouse
  const t = [new Date(at.getTime() - 10 * MIN), new Date(at.getTime() - 5 * MIN), at] as const
  const historyStart = new Date(Math.floor(at.getTime() / HOUR) * HOUR - 6 * HOUR)
  const lastMonth = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1) - 86_400_000)
  const dayStart = new Date(Math.floor(at.getTime() / 86_400_000) * 86_400_000 - 86_400_000)
  const tables: PartitionedTable[] = ['asset_snapshots', 'exchange_snapshots', 'market_snapshots', 'rate_snapshots']
  for (const table of tables) await ensurePartitions(sql, schema, table, t[0], at)
  await ensurePartitions(sql, schema, 'asset_history', dayStart, at)

  const run = async (command: string, status: string, started: Date, datasets: string[], credits: number) => {
    const [row] = await sql<{ id: number }[]>`
      insert into etl_runs (command, started_at, finished_at, status, datasets, rows, api_requests, api_credits, version)
      values (${command}, ${started}, ${new Date(started.getTime() + 5000)}, ${status}, ${sql.array(datasets)},
        ${sql.json({ [datasets[0]!]: 5 })}, 3, ${credits}, 'test')
      returning run_id::int as id`
    return row!.id
  }
  const runs = {
    lastMonth: await run('run', 'ok', lastMonth, ['assets'], 100),
    backfill: await run('backfill', 'ok', new Date(at.getTime() - HOUR), ['history'], 2),
    t1: await run('run', 'ok', new Date(t[1].getTime() - 3000), ['assets', 'exchanges', 'rates'], 5),
    t2: await run('run', 'ok', new Date(t[2].getTime() - 3000), ['assets', 'exchanges', 'rates'], 7),
  }

  await insert(
    sql,
    'assets',
    ASSETS.map(([asset_id, symbol, name]) => ({ asset_id, symbol, name, first_seen_at: t[0], last_seen_at: at })),
  )
  const snapshots: Row[] = []
  for (const [asset_id, [rank, prices, cap, volume, change]] of Object.entries(SNAPSHOTS)) {
    prices.forEach((price, i) => {
      if (price === null) return
      const last = i === 2 || prices[i + 1] === null
      snapshots.push({
        asset_id,
        observed_at: t[i],
        rank,
        price_usd: price,
        market_cap_usd: last ? cap : '1',
        volume_usd_24h: last ? volume : '1',
        change_percent_24h: last ? change : '0',
        supply: '1000',
        run_id: i === 2 ? runs.t2 : runs.t1,
      })
    })
  }
  await insert(sql, 'asset_snapshots', snapshots)

  await insert(
    sql,
    'exchanges',
    [
      ['binance', 'Binance'],
      ['coinbase', 'Coinbase Exchange'],
      ['kraken', 'Kraken'],
    ].map(([exchange_id, name]) => ({ exchange_id, name, first_seen_at: t[0], last_seen_at: at })),
  )
  const exchange = (id: string, observed: Date, rank: number, volume: string, share: string, pairs: number) => ({
    exchange_id: id,
    observed_at: observed,
    rank,
    volume_usd: volume,
    percent_total_volume: share,
    trading_pairs: pairs,
    socket: id === 'binance',
    updated_at: id === 'coinbase' ? null : new Date(observed.getTime() - 30_000),
    run_id: runs.t2,
  })
  await insert(sql, 'exchange_snapshots', [
    exchange('binance', t[1], 1, '11000000000', '39', 1490),
    exchange('binance', at, 1, '12000000000.25', '40.123', 1500),
    exchange('coinbase', at, 2, '3000000000', '10', 400),
    exchange('kraken', at, 3, '1000000000', '3.3333', 600),
  ])

  const market = (ex: string, base: string, quote: string, bs: string, qs: string, p: string[], vol: string) => ({
    exchange_id: ex,
    base_id: base,
    quote_id: quote,
    observed_at: at,
    base_symbol: bs,
    quote_symbol: qs,
    price_usd: p[0],
    price_quote: p[1],
    volume_usd_24h: vol,
    percent_exchange_volume: p[2],
    trades_count_24h: p[3],
    updated_at: at,
    run_id: runs.t2,
  })
  await insert(sql, 'market_snapshots', [
    market('binance', 'bitcoin', 'tether', 'BTC', 'USDT', ['80790.1', '80782', '41.67', '1200000'], '5000000000'),
    market('binance', 'ethereum', 'tether', 'ETH', 'USDT', ['2939', '2938.7', '16.6', '800000'], '2000000000'),
    market(
      'coinbase',
      'bitcoin',
      'united-states-dollar',
      'BTC',
      'USD',
      ['80801', '80801', '33.3', '300000'],
      '1000000000',
    ),
  ])

  const rate = (id: string, observed: Date, symbol: string, type: string, usd: string) => ({
    rate_id: id,
    observed_at: observed,
    symbol,
    currency_symbol: null,
    type,
    rate_usd: usd,
    run_id: runs.t2,
  })
  await insert(sql, 'rate_snapshots', [
    rate('euro', t[1], 'EUR', 'fiat', '1.15'),
    rate('united-states-dollar', at, 'USD', 'fiat', '1.0000000000000000'),
    rate('euro', at, 'EUR', 'fiat', '1.160000000000000000'),
    rate('euro-token', at, 'EUR', 'crypto', '0.5'),
    rate('bitcoin', at, 'BTC', 'crypto', '80800'),
  ])

  const point = (hours: number, price: string) => ({
    asset_id: 'bitcoin',
    interval: 'h1',
    ts: new Date(historyStart.getTime() + hours * HOUR),
    price_usd: price,
    circulating_supply: '19840000',
    run_id: runs.backfill,
  })
  await insert(sql, 'asset_history', [
    point(0, '79000.5'),
    point(1, '79100'),
    point(4, '79400'),
    point(6, '79600.25'),
    { ...point(0, '78000'), interval: 'd1', ts: dayStart },
  ])
  return { at, t0: t[0], t1: t[1], t2: at, historyStart, runs }
}
