import { describe, expect, it } from 'vitest'
import type { Db } from '../../../src/warehouse/connection/connect.js'
import {
  ensurePartitions,
  MAX_PARTITIONS_PER_STATEMENT,
  type PartitionedTable,
} from '../../../src/warehouse/writing/partitions.js'

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

/** The ranges `ensurePartitions` asks for, one per statement, to cover `from`..`to` of `table`. */
async function rangesAsked(table: PartitionedTable, from: string, to: string) {
  const { sql, ranges } = recordingSql()
  await ensurePartitions(sql, 's', table, new Date(from), new Date(to))
  return ranges
}

describe('ensurePartitions', () => {
  it(`asks for at most ${MAX_PARTITIONS_PER_STATEMENT} daily partitions per statement`, async () => {
    expect(await rangesAsked('asset_snapshots', '2025-01-01T12:00:00Z', '2025-03-05T01:00:00Z')).toEqual([
      ['2025-01-01T12:00:00.000Z', '2025-01-31T00:00:00.000Z'],
      ['2025-02-01T00:00:00.000Z', '2025-03-03T00:00:00.000Z'],
      ['2025-03-04T00:00:00.000Z', '2025-03-05T01:00:00.000Z'],
    ])
  })

  it('asks for monthly history partitions in runs of at most 31 months, one statement for one month', async () => {
    expect(await rangesAsked('asset_history', '2020-01-15T00:00:00Z', '2022-12-01T00:00:00Z')).toEqual([
      ['2020-01-15T00:00:00.000Z', '2022-07-01T00:00:00.000Z'],
      ['2022-08-01T00:00:00.000Z', '2022-12-01T00:00:00.000Z'],
    ])
    expect(await rangesAsked('asset_history', '2020-01-15T00:00:00Z', '2020-01-16T00:00:00Z')).toHaveLength(1)
  })
})
