import type { Db } from './connect.js'

/** Tables partitioned by time: snapshots by UTC day, history by UTC month. */
export const PARTITIONED_TABLES = [
  'asset_snapshots',
  'exchange_snapshots',
  'market_snapshots',
  'rate_snapshots',
  'asset_history',
] as const
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number]

/**
 * Creates the partitions `table` needs to hold rows with times in `[from, to]`, before a load.
 * Idempotent; returns how many partitions it created.
 */
export async function ensurePartitions(
  sql: Db,
  schema: string,
  table: PartitionedTable,
  from: Date,
  to: Date,
): Promise<number> {
  const [row] = await sql<{ created: number }[]>`
    select ${sql(schema)}.ensure_partitions(${schema}, ${table}, ${from}, ${to}) as created`
  return row?.created ?? 0
}
