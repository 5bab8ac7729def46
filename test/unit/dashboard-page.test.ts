/**
 * The page's pure parts: values formatted from the exact decimal strings (never through a float), decimals
 * compared exactly for sorting, and the chart's columns with a gap wherever a source misses points.
 */
import { describe, expect, it } from 'vitest'
import { compareDecimals, formatAge, formatAmount, formatChange, formatPrice, formatShare } from '../../web/format.js'
import { bucketGaps, maxSpacing, toChartData } from '../../web/series.js'

describe('formatting the warehouse’s decimal strings', () => {
  it.each([
    ['80800.000000000006984919', '80,800.00'],
    ['80799.995', '80,800.00'],
    ['1.000100000000000000', '1.00'],
    ['0.210000000000000000', '0.21'],
    ['0.000011969800000000', '0.00001197'],
    ['-0.5', '-0.5'],
    // Beyond a float's 17 digits: rounded from the string itself.
    ['12345678901234567890.125', '12,345,678,901,234,567,890.13'],
    [null, '–'],
    ['not a number', '–'],
  ])('price %j is shown as %j', (value, shown) => {
    expect(formatPrice(value)).toBe(shown)
  })

  it('shows amounts short, changes with their sign, shares in percent', () => {
    expect(formatAmount('1603123456789.123456789012345678')).toBe('1.6T')
    expect(formatAmount('35123456789.5')).toBe('35.12B')
    expect([formatChange('2.345678'), formatChange('-1.5'), formatChange('0')]).toEqual(['+2.35%', '-1.50%', '0.00%'])
    expect(formatShare('40.123')).toBe('40.12%')
  })

  it('says an age in its largest units', () => {
    expect([45_000, 12 * 60_000, 185 * 60_000, 52 * 3_600_000, null].map(formatAge)).toEqual([
      '45s',
      '12m',
      '3h 5m',
      '2d 4h',
      '–',
    ])
  })

  it('orders decimal strings exactly, nulls last', () => {
    const values = ['10', '9.99999999999999999999', '-1', '-0.5', null, '10.000000000000000001', '0']
    expect([...values].sort(compareDecimals)).toEqual([
      '-1',
      '-0.5',
      '0',
      '9.99999999999999999999',
      '10',
      '10.000000000000000001',
      null,
    ])
  })
})

describe('the chart’s columns', () => {
  const h = (hour: number) => Date.UTC(2025, 10, 22) / 1000 + hour * 3600
  const at = (hour: number) => new Date(h(hour) * 1000).toISOString()

  it('puts a null into each hole of a history interval (2–3 h and 5 h), and joins the sources on one x axis', () => {
    const data = toChartData([
      { time: at(0), price: '79000.5', source: 'history h1' },
      { time: at(1), price: '79100', source: 'history h1' },
      { time: at(4), price: '79400', source: 'history h1' },
      { time: at(5), price: '80000', source: 'snapshot' },
      { time: at(6), price: '79600.25', source: 'history h1' },
    ])
    expect(data.x).toEqual([h(0), h(1), h(2.5), h(4), h(5), h(6)])
    expect(data.series).toEqual([
      { label: 'snapshot', values: [undefined, undefined, undefined, undefined, 80000, undefined] },
      { label: 'history h1', values: [79000.5, 79100, null, 79400, null, 79600.25] },
    ])
  })

  it('tells a hole among snapshots by their usual spacing', () => {
    const minutes = [0, 5, 10, 15, 45, 50]
    const times = minutes.map((m) => m * 60)
    expect(maxSpacing('snapshot', times)).toBe(750)
    const data = toChartData(
      minutes.map((m) => ({ time: new Date(m * 60_000).toISOString(), price: '1', source: 'snapshot' })),
    )
    expect(data.series[0]!.values).toEqual([1, 1, 1, 1, null, 1, 1])
    expect(data.x[4]).toBe(30 * 60)
  })

  it('tells a hole in a thinned answer by an empty bucket, where the source fills its buckets', () => {
    // 30-minute buckets from 0: points in buckets 0, 1, 2, 4 (3 is empty), the first stored of each.
    const buckets = { from: new Date(0).toISOString(), ms: 30 * 60_000 }
    const row = (m: number) => ({ time: new Date(m * 60_000).toISOString(), price: '1', source: 'snapshot' })
    const dense = toChartData([0, 31, 62, 125].map(row), buckets)
    expect(dense.series[0]!.values).toEqual([1, 1, 1, null, 1])
    expect(dense.x[3]).toBe(((62 + 125) / 2) * 60)
    // Spacing alone would not tell it: 63 minutes is under 2.5 times the usual 31.
    expect(toChartData([0, 31, 62, 125].map(row)).series[0]!.values).toEqual([1, 1, 1, 1])
    // Hourly snapshots leave every other bucket empty: their spacing tells their gaps (none here), not the buckets.
    expect(
      bucketGaps(
        [0, 60, 120, 180].map((m) => m * 60),
        buckets,
      ),
    ).toBeUndefined()
    expect(toChartData([0, 60, 120, 180].map(row), buckets).series[0]!.values).toEqual([1, 1, 1, 1])
  })

  it('draws nothing for no rows, and a single point alone', () => {
    expect(toChartData([])).toEqual({ x: [], series: [] })
    expect(toChartData([{ time: at(0), price: '1.5', source: 'snapshot' }])).toEqual({
      x: [h(0)],
      series: [{ label: 'snapshot', values: [1.5] }],
    })
  })
})
