import { describe, expect, it } from 'vitest'
import {
  CATALOGUE,
  DATASETS,
  DEFAULT_DATASETS,
  DEFAULT_HISTORY_WINDOW_MS,
  datasetOfTable,
  INTERVAL_MS,
  INTERVALS,
  isInterval,
  SNAPSHOT_DATASETS,
} from '../../../src/catalogue/index.js'
import { DISTRIBUTION } from '../../../src/warehouse/connection/citus.js'
import { PARTITIONED_TABLES } from '../../../src/warehouse/writing/partitions.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

describe('the dataset catalogue', () => {
  it('lists the datasets in the order commands show them, snapshots before history', () => {
    expect(DATASETS).toEqual(['assets', 'exchanges', 'markets', 'rates', 'history'])
    expect(SNAPSHOT_DATASETS).toEqual(['assets', 'exchanges', 'markets', 'rates'])
    expect(DEFAULT_DATASETS).toEqual(['assets', 'exchanges', 'rates'])
  })

  it.each(DATASETS)("%s: the key is the table's leading columns, ending with the time column", (dataset) => {
    const { columns, key, timeColumn } = CATALOGUE[dataset]
    const names = columns.map(([name]) => name)
    expect(names.slice(0, key.length)).toEqual(key)
    expect(key.at(-1)).toBe(timeColumn)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toContain('run_id')
    expect(names).toContain(CATALOGUE[dataset].shardColumn)
  })

  it('names each table once, and finds a dataset by its table', () => {
    const tables = DATASETS.map((d) => CATALOGUE[d].table)
    expect(new Set(tables).size).toBe(DATASETS.length)
    expect(PARTITIONED_TABLES).toEqual(tables)
    for (const dataset of DATASETS) expect(datasetOfTable(CATALOGUE[dataset].table)).toBe(dataset)
    expect(datasetOfTable('etl_runs')).toBeUndefined()
  })

  it('partitions snapshots by day and history by month', () => {
    expect(DATASETS.map((d) => [d, CATALOGUE[d].partition])).toEqual([
      ['assets', 'day'],
      ['exchanges', 'day'],
      ['markets', 'day'],
      ['rates', 'day'],
      ['history', 'month'],
    ])
  })

  it('shards every table and its dimension on Citus grouped by entity id, asset_snapshots first', () => {
    expect(DISTRIBUTION.map(({ table, column }) => `${table}.${column}`)).toEqual([
      'asset_snapshots.asset_id',
      'assets.asset_id',
      'asset_history.asset_id',
      'exchange_snapshots.exchange_id',
      'exchanges.exchange_id',
      'market_snapshots.exchange_id',
      'rate_snapshots.rate_id',
    ])
    expect(DISTRIBUTION.every((entry) => Object.keys(entry).length === 2)).toBe(true)
  })
})

describe('the interval catalogue', () => {
  it('lists the intervals CoinCap accepts, finest first', () => {
    expect(INTERVALS).toEqual(['m1', 'm5', 'm15', 'm30', 'h1', 'h2', 'h6', 'h12', 'd1'])
    const lengths = INTERVALS.map((i) => INTERVAL_MS[i])
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b))
  })

  it('knows the bucket length and the default window of each', () => {
    expect(INTERVAL_MS).toEqual({
      m1: 60_000,
      m5: 300_000,
      m15: 900_000,
      m30: 1_800_000,
      h1: HOUR,
      h2: 2 * HOUR,
      h6: 6 * HOUR,
      h12: 12 * HOUR,
      d1: DAY,
    })
    expect(DEFAULT_HISTORY_WINDOW_MS.m1).toBe(DAY)
    expect(DEFAULT_HISTORY_WINDOW_MS.h1).toBe(30 * DAY)
    expect(DEFAULT_HISTORY_WINDOW_MS.d1).toBe(3650 * DAY)
    // A default window is whole buckets: windows are cut on the bucket grid.
    for (const i of INTERVALS) expect(DEFAULT_HISTORY_WINDOW_MS[i] % INTERVAL_MS[i]).toBe(0)
  })

  it('tells an interval from anything else', () => {
    expect(isInterval('h12')).toBe(true)
    expect(isInterval('h7')).toBe(false)
    expect(isInterval('H1')).toBe(false)
    expect(isInterval('toString')).toBe(false)
  })
})
