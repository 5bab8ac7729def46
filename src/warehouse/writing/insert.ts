/** Plain inserts of many rows: `insert ... select from unnest(...)`, every cell sent as text and cast by Postgres. */
import type { Db } from '../connection/connect.js'
import { ensurePartitions, type PartitionedTable } from './partitions.js'
import type { Cell, Columns } from './rows.js'

/** Rows per statement: big enough to amortise round trips, small enough to keep memory flat. */
const ROWS_PER_STATEMENT = 5000

/** A cell as the text Postgres casts (null stays null). */
export function toText(cell: Cell | undefined): string | null {
  return cell === null || cell === undefined ? null : String(cell)
}

/**
 * Inserts `columns` with `insert ... select from unnest(...) on conflict do nothing`, making the partitions
 * their times need first; returns rows inserted.
 */
export async function insertColumns(
  sql: Db,
  schema: string,
  columns: Columns,
  /** Where partitions are made, if not in `sql` (see `StoreOptions.partitions` in loader.ts). */
  partitions: Db = sql,
): Promise<number> {
  if (columns.values.length === 0) return 0
  if (columns.minTime && columns.maxTime) {
    await ensurePartitions(partitions, schema, columns.table as PartitionedTable, columns.minTime, columns.maxTime)
  }
  const casts = columns.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ')
  const text = `insert into "${schema}".${columns.table} (${columns.names.join(', ')})
    select * from unnest(${casts}) on conflict do nothing`
  let inserted = 0
  for (let start = 0; start < columns.values.length; start += ROWS_PER_STATEMENT) {
    const slice = columns.values.slice(start, start + ROWS_PER_STATEMENT)
    // Every cell travels as text (or null) and Postgres casts it: postgres.js mis-types arrays of JS booleans.
    const params = columns.names.map((_, c) => slice.map((row) => toText(row[c])))
    const result = await sql.unsafe(text, params as never[])
    inserted += result.count
  }
  return inserted
}
