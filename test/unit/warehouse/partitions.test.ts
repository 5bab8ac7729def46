import { describe, expect, it } from 'vitest'
import type { Db } from '../../../src/warehouse/connection/connect.js'
import { ensurePartitions, MAX_PARTITIONS_PER_STATEMENT } from '../../../src/warehouse/writing/partitions.js'

/** A stand-in for postgres.js that records the range each `ensure_partitions` statement was given. */
function recordingSql() {
  const ranges: [string, string][] = []
  const sql = ((strings: TemplateStringsArray | string, ...values: unknown[]) => {
    if (typeof strings === 'string') return strings // sql(schema): an identifier
    const [from, to] = values.slice(-2) as Date[]
    ranges.push([from!.toISOString(), to!.toISOString()])
    return Promise.resolve([{ created: 0 }])
  }) as unknown as Db
  return { sql, ranges }
}

describe('ensurePartitions', () => {
  it(`asks for at most ${MAX_PARTITIONS_PER_STATEMENT} daily partitions per statement`, async () => {
    const { sql, ranges } = recordingSql()
    await ensurePartitions(
      sql,
      's',
      'asset_snapshots',
      new Date('2025-01-01T12:00:00Z'),
      new Date('2025-03-05T01:00:00Z'),
    )
    expect(ranges).toEqual([
      ['2025-01-01T12:00:00.000Z', '2025-01-31T00:00:00.000Z'],
      ['2025-02-01T00:00:00.000Z', '2025-03-03T00:00:00.000Z'],
      ['2025-03-04T00:00:00.000Z', '2025-03-05T01:00:00.000Z'],
    ])
  })

  it('asks for monthly history partitions in runs of at most 31 months, one statement for one month', async () => {
    const { sql, ranges } = recordingSql()
    await ensurePartitions(
      sql,
      's',
      'asset_history',
      new Date('2020-01-15T00:00:00Z'),
      new Date('2022-12-01T00:00:00Z'),
    )
    expect(ranges).toEqual([
      ['2020-01-15T00:00:00.000Z', '2022-07-01T00:00:00.000Z'],
      ['2022-08-01T00:00:00.000Z', '2022-12-01T00:00:00.000Z'],
    ])
    const one = recordingSql()
    await ensurePartitions(
      one.sql,
      's',
      'asset_history',
      new Date('2020-01-15T00:00:00Z'),
      new Date('2020-01-16T00:00:00Z'),
    )
    expect(one.ranges).toHaveLength(1)
  })
})
