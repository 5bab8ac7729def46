import { describe, expect, it } from 'vitest'
import { CopyBatch } from '../../../src/warehouse/writing/copy-batch.js'
import { CATALOGUE } from '../../../src/catalogue/index.js'
import { historyRows } from '../../../src/pipeline/mapping.js'
import type { Columns } from '../../../src/warehouse/writing/rows.js'

const HISTORY_COLUMNS = CATALOGUE.history.columns

const HOUR = 3_600_000
const START = Date.parse('2026-01-01T00:00:00Z')
const points = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({
    priceUsd: `${from + i}.5`,
    time: START + (from + i) * HOUR,
    date: new Date(START + (from + i) * HOUR).toISOString(),
  }))
const batch = () =>
  new CopyBatch(
    'asset_history',
    HISTORY_COLUMNS.map(([n]) => n),
    HISTORY_COLUMNS.map(([, t]) => t),
    2,
  )
const text = (b: CopyBatch) => Buffer.concat(b.chunks).toString()

describe('CopyBatch', () => {
  it('renders rows in COPY text, drops keys repeated across answers, and lists the key prefixes', () => {
    const b = batch()
    b.add(historyRows('bitcoin', 'h1', points(3), 7))
    b.add(historyRows('bitcoin', 'h1', points(3, 2), 7)) // hour 2 again
    b.add(historyRows('ethereum', 'h1', points(1), null))
    b.seal()
    expect(b.rows).toBe(6)
    expect(text(b).split('\n')).toEqual([
      'bitcoin\th1\t2026-01-01T00:00:00.000Z\t0.5\t\\N\t7',
      'bitcoin\th1\t2026-01-01T01:00:00.000Z\t1.5\t\\N\t7',
      'bitcoin\th1\t2026-01-01T02:00:00.000Z\t2.5\t\\N\t7',
      'bitcoin\th1\t2026-01-01T03:00:00.000Z\t3.5\t\\N\t7',
      'bitcoin\th1\t2026-01-01T04:00:00.000Z\t4.5\t\\N\t7',
      'ethereum\th1\t2026-01-01T00:00:00.000Z\t0.5\t\\N\t\\N',
      '',
    ])
    expect(b.prefixes()).toEqual([
      ['bitcoin', 'h1'],
      ['ethereum', 'h1'],
    ])
    expect([b.minTime?.toISOString(), b.maxTime?.toISOString()]).toEqual([
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T04:00:00.000Z',
    ])
  })

  it('escapes tab, newline, carriage return and backslash in text columns', () => {
    const b = batch()
    const rows: Columns = {
      ...historyRows('x', 'h1', points(1), 1),
      values: [['a\tb\nc\rd\\e', 'h1', 't', '1', null, 1]],
    }
    b.add(rows)
    expect(text(b.seal())).toBe('a\\tb\\nc\\rd\\\\e\th1\tt\t1\t\\N\t1\n')
  })

  it('cuts the text into chunks of 2,000 rows', () => {
    const b = batch()
    b.add(historyRows('bitcoin', 'h1', points(4500), 1))
    b.seal()
    expect(b.chunks.map((c) => c.toString().split('\n').length - 1)).toEqual([2000, 2000, 500])
  })
})
