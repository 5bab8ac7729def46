import { describe, expect, it } from 'vitest'
import type { Dataset } from '../../../src/catalogue/index.js'
import { historyPointSchema, validateRecords } from '../../../src/coincap/index.js'
import { fixtureJson, makeAssets } from '../../helpers/coincap-fixtures.js'

const records = (name: string) => fixtureJson<{ data: unknown[] }>(name).data

describe('validateRecords', () => {
  it.each([
    ['assets', 'assets.json', 100],
    ['exchanges', 'exchanges.json', 14],
    ['rates', 'rates.json', 16],
    ['markets', 'markets.json', 18],
    ['history', 'history-bitcoin-h1.json', 168],
  ] as const)('accepts every record of the demo %s answer', (dataset: Dataset, name: string, count: number) => {
    const { valid, rejected } = validateRecords(dataset, records(name))
    expect(rejected).toEqual([])
    expect(valid).toHaveLength(count)
  })

  it('accepts every captured v3 sample record', () => {
    const samples = [
      ['assets', 'samples/v3-assets.json'],
      ['exchanges', 'samples/v3-exchanges.json'],
      ['markets', 'samples/v3-markets.json'],
      ['rates', 'samples/v3-rates.json'],
      ['history', 'samples/v3-asset-history-bitcoin-h1.json'],
      ['history', 'samples/v3-asset-history-bitcoin-d1.json'],
    ] as const
    const rejected = samples.flatMap(([dataset, name]) => validateRecords(dataset, records(name)).rejected)
    expect(rejected).toEqual([])
  })

  it('keeps decimals as the exact strings CoinCap sent', () => {
    const [bitcoin] = validateRecords('assets', records('samples/v3-assets.json')).valid
    expect(bitcoin?.priceUsd).toBe('80399.570000000006984919')
    expect(bitcoin?.marketCapUsd).toBe('1610151816845.470214843750000000')
  })

  it('tolerates fields it does not know and keeps them', () => {
    const [asset] = makeAssets(1)
    const { valid, rejected } = validateRecords('assets', [{ ...asset, circulatingSupply: '1.0', nested: { a: 1 } }])
    expect(rejected).toEqual([])
    expect(valid[0]?.nested).toEqual({ a: 1 })
  })

  it('rejects a record with null where a string belongs, with its reason, and keeps the others', () => {
    const [first, second, third] = makeAssets(3)
    const broken = { ...second, priceUsd: null }
    const { valid, rejected } = validateRecords('assets', [first, broken, third])
    expect(valid.map((asset) => asset.id)).toEqual(['asset-1', 'asset-3'])
    expect(rejected).toEqual([{ record: broken, reason: 'priceUsd: Invalid input: expected string, received null' }])
  })

  it('rejects a price sent as a JSON number', () => {
    const [asset] = makeAssets(1)
    const { rejected } = validateRecords('assets', [{ ...asset, priceUsd: 80399.57 }])
    expect(rejected[0]?.reason).toBe('priceUsd: Invalid input: expected string, received number')
  })

  it('rejects the documentation example rate whose rateUsd is a number', () => {
    const example = fixtureJson<{ data: unknown }>('samples/v3-rate-bitcoin-doc-example.json').data
    expect(validateRecords('rates', [example]).rejected[0]?.reason).toMatch(/^rateUsd: /)
  })

  it('rejects an asset without an id', () => {
    const { id: _, ...asset } = makeAssets(1)[0] ?? {}
    expect(validateRecords('assets', [asset]).rejected[0]?.reason).toBe(
      'id: Invalid input: expected string, received undefined',
    )
  })

  it('rejects a decimal string that is not a number, and a record that is not an object', () => {
    const [asset] = makeAssets(1)
    const { rejected } = validateRecords('assets', [{ ...asset, supply: '12,5' }, 'bitcoin'])
    expect(rejected.map((r) => r.reason)).toEqual([
      'supply: expected a decimal string',
      '(record): Invalid input: expected object, received string',
    ])
  })

  it('accepts the nullable fields of a dead exchange and an all-zero market', () => {
    const itbit = records('samples/v3-exchanges.json')[1]
    const zeroMarket = records('samples/v3-markets.json')[0]
    expect(validateRecords('exchanges', [itbit]).valid).toHaveLength(1)
    expect(validateRecords('markets', [zeroMarket]).valid).toHaveLength(1)
  })

  it('rejects what Postgres cannot store: a NUL in text, a decimal beyond numeric, a time beyond a date', () => {
    const [asset] = makeAssets(1)
    const { valid, rejected } = validateRecords('assets', [
      { ...asset, name: 'Bit\u0000coin' },
      { ...asset, priceUsd: '1e1000' },
      { ...asset, priceUsd: '1e999' },
      { ...asset, supply: `1${'0'.repeat(1000)}` },
    ])
    expect(rejected.map((r) => r.reason)).toEqual([
      'name: contains a NUL character',
      'priceUsd: expected a decimal string',
      'supply: expected a decimal string',
    ])
    expect(valid.map((a) => a.priceUsd)).toEqual(['1e999'])
    const point = { priceUsd: '1', date: '2026-01-01T00:00:00.000Z' }
    const history = validateRecords('history', [
      { ...point, time: 8_640_000_000_000_000 },
      { ...point, time: 8_640_000_000_000_001 },
    ])
    expect(history.valid).toHaveLength(1)
    expect(history.rejected.map((r) => r.reason)).toEqual(['time: Too big: expected number to be <=8640000000000000'])
  })

  it('judges history points by hand exactly as the zod schema does (the fast path of large loads)', () => {
    const point = { priceUsd: '64210.5', time: 1_735_689_600_000, date: '2025-01-01T00:00:00.000Z' }
    const cases: unknown[] = [
      point,
      { ...point, circulatingSupply: null },
      { ...point, circulatingSupply: '19800000.25' },
      { ...point, circulatingSupply: 19_800_000 },
      { ...point, circulatingSupply: 'lots' },
      { ...point, extra: { nested: [1, 2] } },
      { ...point, priceUsd: 64_210.5 },
      { ...point, priceUsd: '-3.7e-8' },
      { ...point, priceUsd: '1e999' },
      { ...point, priceUsd: '1e1000' },
      { ...point, priceUsd: ' 1' },
      { ...point, priceUsd: '' },
      { ...point, time: 1.5 },
      { ...point, time: -1 },
      { ...point, time: '1735689600000' },
      { ...point, time: 8_640_000_000_000_001 },
      { ...point, date: 'Jan\u00001' },
      { ...point, date: 20_250_101 },
      { priceUsd: '1', time: 0 },
      [point],
      null,
      'point',
    ]
    const { valid, rejected } = validateRecords('history', cases)
    const byZod = cases.map((c) => historyPointSchema.safeParse(c))
    expect(valid).toEqual(byZod.filter((r) => r.success).map((r) => r.data))
    expect(rejected.map((r) => r.record)).toEqual(cases.filter((_, i) => !byZod[i]!.success))
    expect(valid).toHaveLength(6)
  })
})
