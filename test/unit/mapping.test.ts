import { describe, expect, it } from 'vitest'
import { CATALOGUE, DATASETS, type Dataset } from '../../src/catalogue/index.js'
import type { Answer } from '../../src/coincap/index.js'
import { MAPPINGS, mapAnswer, type MappedAnswer } from '../../src/pipeline/mapping.js'
import type { Columns } from '../../src/warehouse/writing/rows.js'
import { type Envelope, fixtureJson } from '../helpers/coincap-fixtures.js'

const FIXTURE: Record<Dataset, string> = {
  assets: 'assets.json',
  exchanges: 'exchanges.json',
  markets: 'markets.json',
  rates: 'rates.json',
  history: 'history-bitcoin-h1.json',
}

/** The fixture answer of a dataset, as the client yields it. */
function fixtureAnswer(dataset: Dataset): Answer {
  const { data, timestamp } = fixtureJson<Envelope>(FIXTURE[dataset])
  return dataset === 'history'
    ? { dataset, asset: 'bitcoin', interval: 'h1', timestamp, data }
    : { dataset, timestamp, data }
}

/** Row `i` of `columns` as an object of column name → cell. */
const rowAt = (columns: Columns, i = 0) =>
  Object.fromEntries(columns.names.map((name, c) => [name, columns.values[i]![c]]))

const mapped = (answer: Answer, now = answer.timestamp): MappedAnswer => mapAnswer(answer, { runId: 7, now })

/** The first record of each fixture as its snapshot row and, where the dataset has one, its dimension row. */
const FIRST_ROWS: Record<Dataset, { facts: Record<string, unknown>; dimension?: Record<string, unknown> }> = {
  assets: {
    facts: {
      asset_id: 'bitcoin',
      observed_at: '2026-05-09T13:01:58.861Z',
      rank: 1,
      supply: '20026871.000000000000000000',
      max_supply: '21000000.000000000000000000',
      market_cap_usd: '1610151816845.470214843750000000',
      volume_usd_24h: '19641391949.020343780517578125',
      price_usd: '80399.570000000006984919',
      change_percent_24h: '0.2819884727482884',
      vwap_24h: '80210.72481609907',
      run_id: 7,
    },
    dimension: {
      asset_id: 'bitcoin',
      symbol: 'BTC',
      name: 'Bitcoin',
      explorer: 'https://blockchain.info/',
      tokens: '{}',
    },
  },
  exchanges: {
    facts: {
      exchange_id: 'binance',
      observed_at: '2024-09-11T19:53:08.658Z',
      rank: 1,
      percent_total_volume: '26.092696389183402061000000000000000000',
      volume_usd: '13046348194.5917015075683594',
      trading_pairs: 875,
      socket: false,
      updated_at: '2024-09-11T19:52:33.249Z',
      run_id: 7,
    },
    dimension: {
      exchange_id: 'binance',
      name: 'Binance',
      exchange_url: 'https://www.binance.com/',
    },
  },
  markets: {
    facts: {
      exchange_id: 'binance',
      base_id: 'bitcoin',
      quote_id: 'tether',
      observed_at: '2024-09-11T19:58:04.904Z',
      rank: 1,
      base_symbol: 'BTC',
      quote_symbol: 'USDT',
      price_quote: '57490.1825990167999407',
      price_usd: '57472.9355442370942910',
      volume_usd_24h: '174391229.1005253791809082',
      percent_exchange_volume: '15.9415171947330236',
      trades_count_24h: '80007',
      updated_at: '2024-09-11T19:57:42.079Z',
      run_id: 7,
    },
  },
  rates: {
    facts: {
      rate_id: 'bitcoin',
      observed_at: '2024-09-11T19:59:47.747Z',
      symbol: 'BTC',
      currency_symbol: '₿',
      type: 'crypto',
      rate_usd: '57566.1808511293640215',
      run_id: 7,
    },
  },
  history: {
    facts: {
      asset_id: 'bitcoin',
      interval: 'h1',
      ts: '2024-09-04T19:00:00.000Z',
      price_usd: '57376.4071683907823171',
      circulating_supply: null,
      run_id: 7,
    },
  },
}

describe('mapping CoinCap answers to warehouse rows', () => {
  it('has one mapping per dataset of the catalogue', () => {
    expect(Object.keys(MAPPINGS)).toEqual(DATASETS)
  })

  it.each(DATASETS)(
    "%s: every record of the fixture becomes one row of the catalogue's table and columns",
    (dataset) => {
      const answer = fixtureAnswer(dataset)
      const rows = mapped(answer)
      const { table, columns } = CATALOGUE[dataset]
      expect(rows.rejected).toEqual([])
      expect(rows.records).toBe(answer.data.length)
      expect(rows.facts.table).toBe(table)
      expect(rows.facts.names).toEqual(columns.map(([name]) => name))
      expect(rows.facts.types).toEqual(columns.map(([, type]) => type))
      expect(rows.facts.values).toHaveLength(answer.data.length)
      for (const row of rows.facts.values) expect(row).toHaveLength(columns.length)
      expect(rows.times).toHaveLength(answer.data.length)
    },
  )

  it.each(DATASETS)('maps the first %s record to its snapshot row and its dimension row', (dataset) => {
    const rows = mapped(fixtureAnswer(dataset))
    expect(rowAt(rows.facts)).toEqual(FIRST_ROWS[dataset].facts)
    expect(rows.dimension && rowAt(rows.dimension)).toEqual(FIRST_ROWS[dataset].dimension)
  })

  it('writes asset dimensions to assets, and spans the one partition of its snapshot time', () => {
    const rows = mapped(fixtureAnswer('assets'))
    expect(rows.dimension?.table).toBe('assets')
    expect(rows.facts.minTime).toEqual(new Date(1778331718861))
    expect(rows.facts.maxTime).toEqual(new Date(1778331718861))
  })

  it('spans the partitions the points of a history answer need', () => {
    const answer = fixtureAnswer('history')
    const rows = mapped(answer)
    const times = (answer.data as { time: number }[]).map((p) => p.time)
    expect(rows.times).toEqual(times)
    expect(rows.facts.minTime).toEqual(new Date(Math.min(...times)))
    expect(rows.facts.maxTime).toEqual(new Date(Math.max(...times)))
  })

  it('an exchange updated at 0 (a dead one) has no updated_at', () => {
    const { data, timestamp } = fixtureJson<Envelope<Record<string, unknown>>>('exchanges.json')
    const rows = mapped({ dataset: 'exchanges', timestamp, data: [{ ...data[0], updated: 0 }] })
    expect(rowAt(rows.facts).updated_at).toBeNull()
  })

  it('sets apart invalid records with their reason and maps the rest, in order', () => {
    const { data, timestamp } = fixtureJson<Envelope<Record<string, unknown>>>('rates.json')
    const broken = { ...data[1], rateUsd: 12 }
    const rows = mapped({ dataset: 'rates', timestamp, data: [data[0], broken, data[2]] })
    expect(rows.facts.values.map((row) => row[0])).toEqual([data[0]!.id, data[2]!.id])
    expect(rows.rejected).toEqual([
      { record: broken, reason: 'rateUsd: Invalid input: expected string, received number' },
    ])
    expect(rows.records).toBe(3)
  })

  it('rejects history points outside the window asked for, or later than now plus the clock skew', () => {
    const point = (time: number) => ({ priceUsd: '1.5', time, date: new Date(time).toISOString() })
    const H = 3_600_000
    const start = Date.parse('2025-01-01T00:00:00Z')
    const answer: Answer = {
      dataset: 'history',
      asset: 'bitcoin',
      interval: 'h1',
      start,
      end: start + 3 * H - 1,
      timestamp: start + 10 * H,
      data: [point(start - H), point(start), point(start + 2 * H), point(start + 3 * H)],
    }
    const rows = mapped(answer, start + 10 * H)
    expect(rows.times).toEqual([start, start + 2 * H])
    expect(rows.rejected.map((r) => r.reason)).toEqual([
      'time: 2024-12-31T23:00:00.000Z is outside the window asked for (2025-01-01T00:00:00.000Z to 2025-01-01T02:59:59.999Z)',
      'time: 2025-01-01T03:00:00.000Z is outside the window asked for (2025-01-01T00:00:00.000Z to 2025-01-01T02:59:59.999Z)',
    ])
    const recent = mapped({ ...answer, start: undefined, end: undefined, timestamp: start }, start + H)
    expect(recent.times).toEqual([start - H, start])
    expect(recent.rejected.map((r) => r.reason)).toEqual([
      'time: 2025-01-01T02:00:00.000Z is after now plus 5 minutes',
      'time: 2025-01-01T03:00:00.000Z is after now plus 5 minutes',
    ])
  })

  it('rejects a whole answer stamped beyond now plus the clock skew, kept at the latest time Postgres stores', () => {
    const answer: Answer = { ...fixtureAnswer('rates'), timestamp: 9_000_000_000_000_000 }
    const rows = mapped(answer, Date.parse('2026-01-01T00:00:00Z'))
    expect(rows.facts.values).toEqual([])
    expect(rows.times).toEqual([])
    expect(rows.rejected).toHaveLength(answer.data.length)
    expect(rows.rejected[0]?.reason).toBe(
      "the answer's timestamp 9000000000000000 is after now plus 5 minutes (a clock ahead?)",
    )
    expect(rows.observedAt).toBe('9999-12-31T23:59:59.999Z')
  })

  it('rejects a whole history answer for an id that cannot be an asset', () => {
    const answer: Answer = { ...fixtureAnswer('history'), asset: 'Bitcoin' }
    const rows = mapped(answer)
    expect(rows.facts.values).toEqual([])
    expect(new Set(rows.rejected.map((r) => r.reason))).toEqual(
      new Set(["asset: id 'Bitcoin' has capital letters (CoinCap ids are lowercase)"]),
    )
  })
})
