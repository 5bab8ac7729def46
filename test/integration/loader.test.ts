import { describe, expect, it } from 'vitest'
import type { Answer } from '../../src/coincap/index.js'
import { BulkWriter } from '../../src/warehouse/writing/bulk.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { historyRows, loadAnswer } from '../../src/pipeline/mapping.js'
import { useTestWarehouse } from '../helpers/use-warehouse.js'
import { TARGETS } from '../helpers/warehouse.js'

const T1 = Date.parse('2025-11-22T10:00:00.000Z')
const T0 = T1 - 3_600_000
const HOUR = 3_600_000

const bitcoin = (name: string, price: string) => ({
  id: 'bitcoin',
  rank: '1',
  symbol: 'BTC',
  name,
  supply: '20026871.000000000000000000',
  maxSupply: '21000000.000000000000000000',
  marketCapUsd: '1610151816845.470214843750000000',
  volumeUsd24Hr: '19641391949.020343780517578125',
  priceUsd: price,
  changePercent24Hr: '-0.2819884727482884',
  vwap24Hr: null,
  explorer: 'https://blockchain.info/',
  tokens: { '1': ['0xabc'] },
  somethingNew: 'tolerated',
})

function points(count: number, start = Date.parse('2025-01-01T00:00:00Z')) {
  return Array.from({ length: count }, (_, i) => ({
    priceUsd: `${100 + i}.000000000000000001`,
    time: start + i * HOUR,
    date: new Date(start + i * HOUR).toISOString(),
  }))
}

describe.each(TARGETS)('loading answers on the %s database', (target) => {
  const t = useTestWarehouse(target, `loader_${target}`, migrate)

  const load = (answer: Answer) => t.warehouse.sql.begin((tx) => loadAnswer(tx, t.warehouse.schema, answer, 7))

  it('writes one snapshot per asset per answer with the exact decimal strings, and nothing on a re-load', async () => {
    const answer: Answer = { dataset: 'assets', timestamp: T1, data: [bitcoin('Bitcoin', '80399.570000000006984919')] }
    expect(await load(answer)).toEqual({ table: 'asset_snapshots', rows: 1, rejected: 0 })
    expect(await load(answer)).toEqual({ table: 'asset_snapshots', rows: 0, rejected: 0 })
    const rows = await t.warehouse.sql`
      select asset_id, rank, price_usd::text as price, vwap_24h, change_percent_24h::text as change, run_id::int as run
      from asset_snapshots`
    expect(rows).toEqual([
      {
        asset_id: 'bitcoin',
        rank: 1,
        price: '80399.570000000006984919',
        vwap_24h: null,
        change: '-0.2819884727482884',
        run: 7,
      },
    ])
  })

  it('keeps the newest name and the earliest first_seen_at when an older answer loads later', async () => {
    await load({ dataset: 'assets', timestamp: T0, data: [bitcoin('Bitcoin (old name)', '80000')] })
    const [dim] = await t.warehouse.sql`
      select name, first_seen_at, last_seen_at, tokens from assets where asset_id = 'bitcoin'`
    expect(dim).toEqual({
      name: 'Bitcoin',
      first_seen_at: new Date(T0),
      last_seen_at: new Date(T1),
      tokens: { '1': ['0xabc'] },
    })
    const [count] = await t.warehouse.sql`select count(*)::int as n from asset_snapshots`
    expect(count?.n).toBe(2)
  })

  it('turns exchange updated=0 into a null updated_at and keeps the rest', async () => {
    const answer: Answer = {
      dataset: 'exchanges',
      timestamp: T1,
      data: [
        {
          exchangeId: 'binanceus',
          name: 'Binance.US',
          rank: '10',
          percentTotalVolume: '0.03',
          volumeUsd: '3728334.2170733349680754',
          tradingPairs: '155',
          socket: false,
          exchangeUrl: 'https://www.binance.us/',
          updated: 1726084407276,
        },
        {
          exchangeId: 'itbit',
          name: 'Itbit',
          rank: '33',
          percentTotalVolume: null,
          volumeUsd: null,
          tradingPairs: '0',
          socket: null,
          exchangeUrl: 'https://www.itbit.com/',
          updated: 0,
        },
      ],
    }
    expect((await load(answer)).rows).toBe(2)
    const rows = await t.warehouse.sql`
      select exchange_id, updated_at, socket, trading_pairs, volume_usd::text as volume from exchange_snapshots order by rank`
    expect(rows).toEqual([
      {
        exchange_id: 'binanceus',
        updated_at: new Date(1726084407276),
        socket: false,
        trading_pairs: 155,
        volume: '3728334.2170733349680754',
      },
      { exchange_id: 'itbit', updated_at: null, socket: null, trading_pairs: 0, volume: null },
    ])
  })

  it('sets a failing record apart with its reason, once, and loads the rest of the answer', async () => {
    const answer: Answer = {
      dataset: 'rates',
      timestamp: T1,
      data: [
        { id: 'euro', symbol: 'EUR', currencySymbol: '€', type: 'fiat', rateUsd: '1.0812' },
        { id: 'bitcoin', symbol: 'BTC', currencySymbol: '₿', type: 'crypto', rateUsd: 57566.18 },
      ],
    }
    expect(await load(answer)).toEqual({ table: 'rate_snapshots', rows: 1, rejected: 1 })
    expect(await load(answer)).toEqual({ table: 'rate_snapshots', rows: 0, rejected: 1 })
    const rejected = await t.warehouse
      .sql`select dataset, reason, record->>'id' as id, run_id::int as run from rejected_records`
    expect(rejected).toEqual([
      { dataset: 'rates', reason: 'rateUsd: Invalid input: expected string, received number', id: 'bitcoin', run: 7 },
    ])
  })

  it('bulk-loads history once: duplicates within a batch dropped, a repeat inserting nothing, an overlap only the new rows', async () => {
    const { sql, schema, kind } = t.warehouse
    await sql.begin(async (tx) => {
      const writer = new BulkWriter(tx, schema, kind, 3, 250)
      const first = points(600)
      await writer.add(historyRows('bitcoin', 'h1', [...first, ...first.slice(0, 10)], 1))
      await writer.flush()
      expect(writer.inserted).toBe(600)
    })
    await sql.begin(async (tx) => {
      const writer = new BulkWriter(tx, schema, kind, 3, 250)
      await writer.add(historyRows('bitcoin', 'h1', points(700), 2))
      await writer.flush()
      expect(writer.inserted).toBe(100)
    })
    const [row] = await sql`select count(*)::int as n, count(distinct ts)::int as distinct_ts,
      max(price_usd)::text as top from asset_history where asset_id = 'bitcoin' and interval = 'h1'`
    expect(row).toEqual({ n: 700, distinct_ts: 700, top: '799.000000000000000001' })
  })

  it('creates the partitions of every month that a later batch of a bulk load reaches', async () => {
    const { sql, schema, kind } = t.warehouse
    // 2,400 hourly points from 2026-03-01 are 100 days: batches of 500 rows reach April, May and June in turn.
    const spread = points(2400, Date.parse('2026-03-01T00:00:00Z'))
    await sql.begin(async (tx) => {
      const writer = new BulkWriter(tx, schema, kind, 3, 500)
      for (let i = 0; i < spread.length; i += 100)
        await writer.add(historyRows('cardano', 'h1', spread.slice(i, i + 100), 5))
      await writer.flush()
      expect(writer.inserted).toBe(2400)
    })
    const months = await sql<{ month: string; n: number }[]>`
      select to_char(ts at time zone 'UTC', 'YYYY-MM') as month, count(*)::int as n
      from asset_history where asset_id = 'cardano' group by 1 order by 1`
    expect(months).toEqual([
      { month: '2026-03', n: 744 },
      { month: '2026-04', n: 720 },
      { month: '2026-05', n: 744 },
      { month: '2026-06', n: 192 },
    ])
  })

  it('fails with the database error, not a hang, when the server refuses the last rows of a bulk write', async () => {
    const { sql, schema, kind } = t.warehouse
    const attempt = sql.begin(async (tx) => {
      const writer = new BulkWriter(tx, schema, kind, 3, 1000)
      // 'h7' breaks the interval check: the server refuses the batch after every row was sent.
      await writer.add(historyRows('solana', 'h7', points(50), 4))
      await writer.flush()
    })
    await expect(attempt).rejects.toMatchObject({ code: '23514' })
    const [row] = await sql`select count(*)::int as n from asset_history where asset_id = 'solana'`
    expect(row?.n).toBe(0)
  }, 10_000)

  it('rolls back every batch of a bulk load when its transaction fails', async () => {
    const { sql, schema, kind } = t.warehouse
    await expect(
      sql.begin(async (tx) => {
        const writer = new BulkWriter(tx, schema, kind, 3, 100)
        await writer.add(historyRows('ethereum', 'h1', points(300), 3))
        await writer.flush()
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    const [row] = await sql`select count(*)::int as n from asset_history where asset_id = 'ethereum'`
    expect(row?.n).toBe(0)
  })
})
