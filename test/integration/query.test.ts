import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/core/errors.js'
import { type QueryOptions, runQuery } from '../../src/pipeline/query.js'
import { renderQuery, toCsv } from '../../src/ui/query.js'
import { findHistoryGaps, runReadOnly } from '../../src/warehouse/reading/queries.js'
import { useSeededWarehouse } from '../helpers/use-warehouse.js'
import { openTestWarehouse, TARGETS } from '../helpers/warehouse.js'

const HOUR = 3_600_000
const later = (d: Date, ms: number) => new Date(d.getTime() + ms)
const iso = (d: Date, ms = 0) => later(d, ms).toISOString()
const pick = (rows: Record<string, unknown>[], ...keys: string[]) =>
  rows.map((r) => keys.map((k) => (r[k] instanceof Date ? (r[k] as Date).toISOString() : r[k])))

/** A minimal RFC 4180 reader, enough to read our csv back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [[]]
  let field = ''
  let quoted = false
  const endField = () => {
    rows.at(-1)!.push(field)
    field = ''
  }
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"'
      i++
    } else if (ch === '"') quoted = !quoted
    else if (!quoted && ch === ',') endField()
    else if (!quoted && ch === '\n') {
      endField()
      rows.push([])
    } else field += ch
  }
  endField()
  return rows
}

describe.each(TARGETS)('query on the %s database', (target) => {
  const t = useSeededWarehouse(target, `query_${target}`)
  const query = (options: QueryOptions) => runQuery(t.warehouse, { now: t.seeded.at, ...options })
  const assetCount = async () => (await t.warehouse.sql<{ n: number }[]>`select count(*)::int as n from assets`)[0]?.n

  it("latest lists each asset's newest snapshot by rank, one missing from the newest answer with its older one", async () => {
    const r = await query({})
    expect(r.report).toBe('latest')
    expect(pick(r.rows, 'rank', 'asset_id', 'symbol', 'price', 'change_24h', 'observed_at')).toEqual([
      [1, 'bitcoin', 'BTC', '80800.000000000006984919', '2.345678', iso(t.seeded.at)],
      [2, 'ethereum', 'ETH', '2940', '-1.5', iso(t.seeded.at)],
      [3, 'tether', 'USDT', '1.000100000000000000', '0.004', iso(t.seeded.at)],
      [4, 'dogecoin', 'DOGE', '0.210000000000000000', '-0.5', iso(t.seeded.at)],
      [5, 'shiba-inu', 'SHIB', '0.000011969800000000', '-3', iso(t.seeded.t1)],
      [6, 'bitcoin-bep2', 'BTC', '80700.5', '0.1', iso(t.seeded.at)],
    ])
  })

  it('latest returns every column of a row with decimals exactly as stored', async () => {
    const r = await query({ limit: 1 })
    expect(r.rows).toEqual([
      {
        rank: 1,
        asset_id: 'bitcoin',
        symbol: 'BTC',
        name: 'Bitcoin',
        price: '80800.000000000006984919',
        change_24h: '2.345678',
        market_cap: '1603123456789.123456789012345678',
        volume_24h: '35123456789.5',
        observed_at: t.seeded.at,
      },
    ])
  })

  it("latest with --asset shows that asset's newest snapshot even when older than the newest observation", async () => {
    const r = await query({ assetIds: ['shiba-inu', 'ethereum'] })
    expect(pick(r.rows, 'asset_id', 'price', 'observed_at')).toEqual([
      ['ethereum', '2940', iso(t.seeded.at)],
      ['shiba-inu', '0.000011969800000000', iso(t.seeded.t1)],
    ])
  })

  it('latest with --symbol matches every asset with that symbol, case-insensitively', async () => {
    const r = await query({ symbols: ['btc'] })
    expect(pick(r.rows, 'asset_id')).toEqual([['bitcoin'], ['bitcoin-bep2']])
  })

  it('history lists snapshots and the finest stored interval of asset_history, oldest first', async () => {
    const r = await query({ report: 'history', symbols: ['BTC'], since: new Date(t.seeded.at.getTime() - 7 * HOUR) })
    expect(r.assetId).toBe('bitcoin')
    expect(pick(r.rows, 'time', 'price', 'source')).toEqual([
      [iso(t.seeded.historyStart), '79000.5', 'history h1'],
      [iso(t.seeded.historyStart, HOUR), '79100', 'history h1'],
      [iso(t.seeded.historyStart, 4 * HOUR), '79400', 'history h1'],
      [iso(t.seeded.t0), '80000', 'snapshot'],
      [iso(t.seeded.t1), '80400', 'snapshot'],
      [iso(t.seeded.historyStart, 6 * HOUR), '79600.25', 'history h1'],
      [iso(t.seeded.t2), '80800.000000000006984919', 'snapshot'],
    ])
  })

  it('history defaults to the last hour and --limit keeps the newest points in time order', async () => {
    const r = await query({ report: 'history', assetIds: ['bitcoin'], limit: 2 })
    expect(r.since).toEqual(new Date(t.seeded.at.getTime() - HOUR))
    expect(pick(r.rows, 'time', 'source')).toEqual([
      [iso(t.seeded.historyStart, 6 * HOUR), 'history h1'],
      [iso(t.seeded.t2), 'snapshot'],
    ])
  })

  it('history with points keeps the oldest stored point of each source in each bucket, and leaves empty ones empty', async () => {
    // 06:00 to 12:00 in 3 buckets of 2 h: 06–08 holds h1 06:00 and 07:00, 08–10 nothing, 10–12:00 (inclusive)
    // holds h1 10:00 and 12:00 and the snapshots 11:50, 11:55, 12:00.
    const since = t.seeded.historyStart
    const r = await query({ report: 'history', assetIds: ['bitcoin'], since, until: t.seeded.at, points: 3 })
    expect(r.buckets).toEqual({ from: t.seeded.historyStart, ms: 2 * HOUR, count: 3 })
    expect(pick(r.rows, 'time', 'price', 'supply', 'source')).toEqual([
      [iso(t.seeded.historyStart), '79000.5', '19840000', 'history h1'],
      [iso(t.seeded.historyStart, 4 * HOUR), '79400', '19840000', 'history h1'],
      [iso(t.seeded.t0), '80000', '1000', 'snapshot'],
    ])
    const hourly = await query({ report: 'history', assetIds: ['bitcoin'], since, until: t.seeded.at, points: 6 })
    expect(pick(hourly.rows, 'time', 'price', 'source')).toEqual([
      [iso(t.seeded.historyStart), '79000.5', 'history h1'],
      [iso(t.seeded.historyStart, HOUR), '79100', 'history h1'],
      [iso(t.seeded.historyStart, 4 * HOUR), '79400', 'history h1'],
      [iso(t.seeded.t0), '80000', 'snapshot'],
      [iso(t.seeded.historyStart, 6 * HOUR), '79600.25', 'history h1'],
    ])
    // Every row is a stored row, whole: the same as the unthinned report's row at that time and source.
    const all = await query({ report: 'history', assetIds: ['bitcoin'], since, until: t.seeded.at, currency: 'EUR' })
    const thinned = await query({
      report: 'history',
      assetIds: ['bitcoin'],
      since,
      until: t.seeded.at,
      currency: 'EUR',
      points: 6,
    })
    const key = (row: Record<string, unknown>) => `${(row.time as Date).toISOString()} ${row.source as string}`
    const stored = new Map(all.rows.map((row) => [key(row), row]))
    expect(thinned.rows.map((row) => stored.get(key(row)))).toEqual(thinned.rows)
    expect(thinned.columns).toEqual(all.columns)
  })

  it('history with points over all time buckets from the first stored point; none stored, no buckets', async () => {
    const r = await query({ report: 'history', assetIds: ['bitcoin'], since: new Date(0), points: 2 })
    expect(r.buckets).toEqual({ from: t.seeded.historyStart, ms: 3 * HOUR, count: 2 })
    expect(pick(r.rows, 'time', 'source')).toEqual([
      [iso(t.seeded.historyStart), 'history h1'],
      [iso(t.seeded.historyStart, 4 * HOUR), 'history h1'],
      [iso(t.seeded.t0), 'snapshot'],
    ])
    const none = await query({ report: 'history', assetIds: ['nothing-stored'], since: new Date(0), points: 2 })
    expect(none.rows).toEqual([])
    expect(none.buckets).toBeUndefined()
  })

  it('movers lists the largest gains, then the largest losses, from first to last snapshot', async () => {
    const { t0, t1, t2 } = t.seeded
    const r = await query({ report: 'movers' })
    expect(pick(r.rows, 'side', 'asset_id', 'price_from', 'price_to', 'change', 'from', 'to')).toEqual([
      ['gain', 'dogecoin', '0.2', '0.210000000000000000', '5.00000000000000000000', iso(t0), iso(t2)],
      ['gain', 'bitcoin', '80000', '80800.000000000006984919', '1.00000000000000873100', iso(t0), iso(t2)],
      [
        'loss',
        'shiba-inu',
        '0.000012340000000000',
        '0.000011969800000000',
        '-3.00000000000000000000',
        iso(t0),
        iso(t1),
      ],
      ['loss', 'ethereum', '3000', '2940', '-2.00000000000000000000', iso(t0), iso(t2)],
    ])
  })

  it('movers takes --limit per side', async () => {
    const r = await query({ report: 'movers', limit: 1 })
    expect(pick(r.rows, 'side', 'asset_id')).toEqual([
      ['gain', 'dogecoin'],
      ['loss', 'shiba-inu'],
    ])
  })

  it('exchanges lists the newest exchange snapshot by rank', async () => {
    const r = await query({ report: 'exchanges' })
    expect(pick(r.rows, 'rank', 'exchange_id', 'name', 'volume_24h', 'share', 'pairs', 'updated')).toEqual([
      [1, 'binance', 'Binance', '12000000000.25', '40.123', 1500, iso(t.seeded.at, -30_000)],
      [2, 'coinbase', 'Coinbase Exchange', '3000000000', '10', 400, null],
      [3, 'kraken', 'Kraken', '1000000000', '3.3333', 600, iso(t.seeded.at, -30_000)],
    ])
  })

  it('markets lists the newest markets by volume, filtered by exchange or asset', async () => {
    expect(pick((await query({ report: 'markets' })).rows, 'exchange_id', 'pair', 'price')).toEqual([
      ['binance', 'BTC/USDT', '80790.1'],
      ['binance', 'ETH/USDT', '2939'],
      ['coinbase', 'BTC/USD', '80801'],
    ])
    expect(pick((await query({ report: 'markets', exchange: 'coinbase' })).rows, 'pair')).toEqual([['BTC/USD']])
    expect(pick((await query({ report: 'markets', assetIds: ['ethereum'] })).rows, 'pair')).toEqual([['ETH/USDT']])
  })

  it('runs lists etl_runs newest first', async () => {
    const r = await query({ report: 'runs', limit: 3 })
    expect(pick(r.rows, 'run_id', 'command', 'status', 'rows', 'credits', 'duration_ms')).toEqual([
      [t.seeded.runs.t2, 'run', 'ok', 5, 7, 5000],
      [t.seeded.runs.t1, 'run', 'ok', 5, 5, 5000],
      [t.seeded.runs.backfill, 'backfill', 'ok', 5, 2, 5000],
    ])
  })

  it('gaps groups the missing h1 points between the first and last stored one into ranges', async () => {
    const r = await query({ report: 'gaps', assetIds: ['bitcoin'], interval: 'h1' })
    expect(pick(r.rows, 'from', 'to', 'missing')).toEqual([
      [iso(t.seeded.historyStart, 2 * HOUR), iso(t.seeded.historyStart, 3 * HOUR), 2],
      [iso(t.seeded.historyStart, 5 * HOUR), iso(t.seeded.historyStart, 5 * HOUR), 1],
    ])
  })

  it('findHistoryGaps counts the buckets before and after the stored points when given wider bounds', async () => {
    const gaps = await findHistoryGaps(t.warehouse.sql, {
      assetId: 'bitcoin',
      interval: 'h1',
      from: new Date(t.seeded.historyStart.getTime() - 2 * HOUR - 1),
      to: new Date(t.seeded.historyStart.getTime() + 8 * HOUR + 1),
    })
    expect(gaps).toEqual([
      {
        from: new Date(t.seeded.historyStart.getTime() - 2 * HOUR),
        to: new Date(t.seeded.historyStart.getTime() - HOUR),
        missing: 2,
      },
      {
        from: new Date(t.seeded.historyStart.getTime() + 2 * HOUR),
        to: new Date(t.seeded.historyStart.getTime() + 3 * HOUR),
        missing: 2,
      },
      {
        from: new Date(t.seeded.historyStart.getTime() + 5 * HOUR),
        to: new Date(t.seeded.historyStart.getTime() + 5 * HOUR),
        missing: 1,
      },
      {
        from: new Date(t.seeded.historyStart.getTime() + 7 * HOUR),
        to: new Date(t.seeded.historyStart.getTime() + 8 * HOUR),
        missing: 2,
      },
    ])
  })

  it('gaps from --since without --until runs to the last finished bucket, even with no history stored', async () => {
    const r = await query({
      report: 'gaps',
      assetIds: ['tether'],
      interval: 'h1',
      since: later(t.seeded.at, -3 * HOUR),
    })
    expect(pick(r.rows, 'from', 'to', 'missing')).toEqual([[iso(t.seeded.at, -3 * HOUR), iso(t.seeded.at, -HOUR), 3]])
  })

  it('findHistoryGaps finds nothing for an asset with no history and no bounds', async () => {
    expect(await findHistoryGaps(t.warehouse.sql, { assetId: 'tether', interval: 'h1' })).toEqual([])
  })

  it('gaps without --interval for an asset with several intervals asks for one', async () => {
    await expect(query({ report: 'gaps', assetIds: ['bitcoin'] })).rejects.toThrow(
      "'bitcoin' has history at h1, d1; choose one with --interval.",
    )
  })

  it('--currency converts price, market cap and volume with the latest fiat rate of that symbol', async () => {
    const r = await query({ currency: 'eur', limit: 1 })
    expect(r.currency).toBe('EUR')
    expect(r.rateUsd).toBe('1.160000000000000000')
    expect(pick(r.rows, 'price', 'market_cap', 'volume_24h', 'change_24h')).toEqual([
      ['69655.172413793109469758', '1382002979990.623669645700297998', '30278842059.913793103448275862', '2.345678'],
    ])
  })

  it('--currency USD leaves the stored values untouched', async () => {
    const r = await query({ currency: 'USD', limit: 1 })
    expect(r.rows[0]?.price).toBe('80800.000000000006984919')
  })

  it('an unknown --currency is a usage error naming it and the known ones', async () => {
    const error = await query({ currency: 'XYZ' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect(error).toMatchObject({
      exitCode: 2,
      message: "Unknown currency 'XYZ': no rate with that symbol in rate_snapshots.",
      hint: 'Known currencies: EUR, USD, BTC.',
    })
  })

  it('csv and json output read back to the same values', async () => {
    const r = await query({ report: 'exchanges' })
    const json = JSON.parse(renderQuery(r, { format: 'json' })) as Record<string, unknown>[]
    const [header, ...lines] = parseCsv(toCsv(r))
    const fromCsv = lines.map((line) => Object.fromEntries(header!.map((h, i) => [h, line[i]])))
    const asText = (v: unknown) => (v === null ? '' : String(v))
    expect(fromCsv).toEqual(json.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, asText(v)]))))
    expect(json[0]).toEqual({
      rank: 1,
      exchange_id: 'binance',
      name: 'Binance',
      volume_24h: '12000000000.25',
      share: '40.123',
      pairs: 1500,
      socket: true,
      updated: iso(t.seeded.at, -30_000),
      observed_at: iso(t.seeded.at),
    })
  })

  it('--sql runs a select and returns its rows and typed columns', async () => {
    const r = await query({
      sql: "select asset_id, price_usd, observed_at from asset_snapshots where asset_id like 'bit%' and rank = 1 order by observed_at",
    })
    expect(r.columns).toEqual([
      { name: 'asset_id', kind: 'text' },
      { name: 'price_usd', kind: 'decimal' },
      { name: 'observed_at', kind: 'time' },
    ])
    expect(pick(r.rows, 'asset_id', 'price_usd')).toEqual([
      ['bitcoin', '80000'],
      ['bitcoin', '80400'],
      ['bitcoin', '80800.000000000006984919'],
    ])
  })

  it('--sql refuses a writing statement and changes nothing', async () => {
    await expect(query({ sql: 'delete from assets' })).rejects.toMatchObject({
      exitCode: 2,
      message: '--sql runs one read-only query: it takes a SELECT, WITH, VALUES or TABLE query, not DELETE.',
    })
    await expect(query({ sql: 'select * into copied from assets' })).rejects.toMatchObject({
      exitCode: 2,
      message: '--sql is read-only: cannot execute SELECT INTO in a read-only transaction.',
    })
    await expect(query({ sql: 'with d as (delete from assets returning 1) select count(*) from d' })).rejects.toThrow(
      UsageError,
    )
    expect(await assetCount()).toBe(6)
  })

  it('--sql refuses a second statement, so nothing can follow a commit', async () => {
    await expect(query({ sql: 'select 1; commit; delete from assets' })).rejects.toMatchObject({
      exitCode: 2,
      message: '--sql runs one read-only query: it takes one statement, and this has more (a ; between statements).',
    })
    expect(await assetCount()).toBe(6)
  })

  it('--sql refuses a volatile function the read-only mode allows, such as set_config', async () => {
    await expect(query({ sql: "select set_config('search_path', 'pg_catalog', false)" })).rejects.toMatchObject({
      exitCode: 2,
      message: '--sql runs one read-only query: set_config() may change the database, the server or its files.',
    })
    const [row] = await t.warehouse.sql<{ path: string }[]>`select current_setting('search_path') as path`
    expect(row?.path).toContain(t.warehouse.schema)
  })

  it('a hostile filter value stays a value', async () => {
    expect((await query({ symbols: ["BTC' or '1'='1"] })).rows).toEqual([])
    expect((await query({ assetIds: ["x'); drop table assets; --"] })).rows).toEqual([])
    expect((await query({ report: 'markets', exchange: "' or true --" })).rows).toEqual([])
    expect((await query({ report: 'history', assetIds: ["bitcoin' --"] })).rows).toEqual([])
    expect(await assetCount()).toBe(6)
  })

  it('an unknown report is a usage error listing the reports', async () => {
    await expect(query({ report: 'prices' })).rejects.toMatchObject({
      exitCode: 2,
      message: "Unknown report 'prices'; expected one of latest, history, movers, exchanges, markets, runs, gaps.",
    })
  })

  it('a flag the report does not read is a usage error', async () => {
    await expect(query({ report: 'exchanges', since: t.seeded.t0 })).rejects.toMatchObject({
      exitCode: 2,
      message: "--since does not apply to 'exchanges'; it reads --limit, --currency.",
    })
    await expect(query({ report: 'movers', points: 100 })).rejects.toMatchObject({
      exitCode: 2,
      message: "--points does not apply to 'movers'; it reads --since, --until, --limit, --currency.",
    })
  })

  it('history of an unknown symbol is a usage error', async () => {
    await expect(query({ report: 'history', symbols: ['NOPE'] })).rejects.toMatchObject({
      exitCode: 2,
      message: "No asset has the symbol 'NOPE'.",
    })
  })
})

describe.each(TARGETS)('demo data on the %s database', (target) => {
  const t = useSeededWarehouse(target, `query_demo_${target}`)

  it('snapshot reports name the demo runs whose rows are still stored, until they are removed', async () => {
    const { sql } = t.warehouse
    const query = (report: string) => runQuery(t.warehouse, { now: t.seeded.at, report })
    expect((await query('latest')).demoRuns).toBeUndefined()
    const demoRun = async (at: Date) => {
      const [row] = await sql<{ id: number }[]>`
        insert into etl_runs (command, started_at, finished_at, status)
        values ('run --demo', ${later(at, -1000)}, ${later(at, 1000)}, 'ok') returning run_id::int as id`
      return row!.id
    }
    const withRows = await demoRun(t.seeded.at)
    await demoRun(later(t.seeded.at, -HOUR)) // its rows were pruned: nothing to label
    await sql`insert into rate_snapshots (rate_id, observed_at, symbol, type, rate_usd, run_id)
      values ('demo-coin', ${t.seeded.at}, 'DMO', 'crypto', '1', ${withRows})`
    expect((await query('latest')).demoRuns).toEqual([withRows])
    expect((await query('exchanges')).demoRuns).toEqual([withRows])
    expect((await query('runs')).demoRuns).toBeUndefined()
    await sql`delete from rate_snapshots where run_id = ${withRows}`
    expect((await query('latest')).demoRuns).toBeUndefined()
  })
})

describe('--sql on the server', () => {
  it('is cancelled by the statement timeout', async () => {
    const t = await openTestWarehouse('server', 'query_timeout')
    try {
      await expect(runReadOnly(t.warehouse.sql, 'select pg_sleep(5)', '100ms')).rejects.toMatchObject({ code: '57014' })
    } finally {
      await t.cleanup()
    }
  })
})
