import { CATALOGUE, DATASETS, type DatasetTable } from '../../catalogue/index.js'
import type { Db } from '../connection/connect.js'

/** Tables partitioned by time: those of the datasets (by UTC day or month, as the catalogue says). */
export const PARTITIONED_TABLES: readonly DatasetTable[] = DATASETS.map((d) => CATALOGUE[d].table)
export type PartitionedTable = DatasetTable

const PARTITION_UNIT = Object.fromEntries(DATASETS.map((d) => [CATALOGUE[d].table, CATALOGUE[d].partition])) as Record<
  PartitionedTable,
  'day' | 'month'
>

/**
 * Partitions one statement may create at most: each is a table with its indexes and locks held until the
 * transaction ends, and a single statement creating thousands of them ran for tens of seconds.
 */
export const MAX_PARTITIONS_PER_STATEMENT = 31

/** The start of the UTC month or day (the table's partition unit) after the one holding `time`. */
function nextBucket(table: PartitionedTable, time: Date): Date {
  if (PARTITION_UNIT[table] === 'month') return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth() + 1))
  return new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate() + 1))
}

/**
 * Creates the partitions `table` needs to hold rows with times in `[from, to]`, before a load, at most
 * {@link MAX_PARTITIONS_PER_STATEMENT} per statement. Idempotent; returns how many partitions it created.
 */
export async function ensurePartitions(
  sql: Db,
  schema: string,
  table: PartitionedTable,
  from: Date,
  to: Date,
): Promise<number> {
  let created = 0
  for (let start = from; start <= to;) {
    let end = start
    for (let i = 1; i < MAX_PARTITIONS_PER_STATEMENT; i++) end = nextBucket(table, end)
    const last = end < to ? end : to
    const [row] = await sql<{ created: number }[]>`
      select ${sql(schema)}.ensure_partitions(${schema}, ${table}, ${start}, ${last}) as created`
    created += row?.created ?? 0
    start = nextBucket(table, last)
  }
  return created
}
