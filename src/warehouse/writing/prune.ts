/**
 * The SQL of `prune`: partitions and their real bounds from the catalog, exact counts, dropping a whole
 * partition in one short transaction, and deleting inside a partition in bounded batches.
 */
import { DatabaseError } from '../../core/errors.js'
import type { Db, Sql } from '../connection/connect.js'
import type { PartitionedTable } from './partitions.js'

/** One partition of a partitioned table; a null bound is unbounded (MINVALUE/MAXVALUE, or DEFAULT). */
export interface Partition {
  name: string
  lower: Date | null
  upper: Date | null
  isDefault: boolean
  bytes: number
}

/** Which rows of a table or partition: time in `[from, to)` (either side open when absent), and of one run. */
export interface RowFilter {
  timeColumn: 'observed_at' | 'ts'
  from?: Date
  to?: Date
  runId?: number
}

/**
 * The partitions of `schema.table`, ordered by lower bound. Bounds are read from `relpartbound`, cast back
 * to timestamptz in the same session and handed over as epoch milliseconds: a number no DateStyle or
 * TimeZone can change.
 */
export async function listPartitions(
  sql: Sql,
  schema: string,
  table: PartitionedTable,
  distributed = false,
): Promise<Partition[]> {
  const size = sizeFunction(sql, distributed)
  const rows = await sql<{ name: string; bound: string; lower: string | null; upper: string | null; bytes: string }[]>`
    select name, bound, bytes,
      (extract(epoch from (regexp_match(bound, 'FROM [(]''([^'']*)''[)]'))[1]::timestamptz) * 1000)::int8 as lower,
      (extract(epoch from (regexp_match(bound, 'TO [(]''([^'']*)''[)]'))[1]::timestamptz) * 1000)::int8 as upper
    from (
      select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound, ${size}(c.oid) as bytes
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = to_regclass(format('%I.%I', ${schema}::text, ${table}::text))
    ) p
    order by lower nulls first, name`
  return rows.map((r) => ({
    name: r.name,
    lower: r.lower === null ? null : new Date(Number(r.lower)),
    upper: r.upper === null ? null : new Date(Number(r.upper)),
    isDefault: r.bound === 'DEFAULT',
    bytes: Number(r.bytes),
  }))
}

/**
 * The size function of a table's relations: on Citus, a distributed table's rows are in shards on the
 * workers, and the coordinator's own relation is an empty shell.
 */
function sizeFunction(sql: Db, distributed: boolean) {
  return sql(distributed ? 'citus_total_relation_size' : 'pg_total_relation_size')
}

function where(sql: Db, filter: RowFilter) {
  const column = sql(filter.timeColumn)
  return sql`true
    ${filter.from ? sql`and ${column} >= ${filter.from}` : sql``}
    ${filter.to ? sql`and ${column} < ${filter.to}` : sql``}
    ${filter.runId !== undefined ? sql`and run_id = ${filter.runId}` : sql``}`
}

/** Exact number of rows of `schema.relation` (a table or one partition) matching `filter` (all rows without one). */
export async function countRows(sql: Sql, schema: string, relation: string, filter?: RowFilter): Promise<number> {
  return sql.begin(async (tx) => {
    // A partition is a day or a month: starting parallel workers for each count costs more than they save
    // (the dry run of the 10M-row prune benchmark: 3.1 s with them, 0.7 s without).
    await tx`select set_config('max_parallel_workers_per_gather', '0', true)`
    const [row] = await tx<{ n: string }[]>`
      select count(*) as n from ${tx(schema)}.${tx(relation)} ${filter ? tx`where ${where(tx, filter)}` : tx``}`
    return Number(row?.n ?? 0)
  })
}

/** One batch of a partition's rows: at most `limit` of those matching `filter`, picked as {@link deleteStatement} says. */
type Batch = [schema: string, partition: string, filter: RowFilter, limit: number, key?: string[]]

/**
 * The statement that deletes one batch. Rows are picked by `ctid`, unique within a partition, so any table
 * is batched the same way whatever its primary key; a Citus shard's ctid means nothing on the coordinator,
 * so a distributed partition is batched by `key`, its primary key, instead.
 */
function deleteStatement(sql: Db, ...[schema, partition, filter, limit, key]: Batch) {
  const rel = sql`${sql(schema)}.${sql(partition)}`
  const picked = key ? sql`(${sql(key)})` : sql`ctid`
  const pick = sql`select ${key ? sql(key) : sql`ctid`} from ${rel} where ${where(sql, filter)} limit ${limit}`
  return key
    ? sql`delete from ${rel} where ${picked} in (${pick})`
    : sql`delete from ${rel} where ctid = any(array(${pick}))`
}

/** Deletes one batch, as one statement (its own short transaction); returns how many rows went. */
export async function deleteBatch(sql: Sql, ...batch: Batch): Promise<number> {
  const result = await sql`${deleteStatement(sql, ...batch)}`
  return result.count
}

/**
 * Plans the delete of one batch without running it: throws what the database would refuse (Citus cannot
 * plan some deletes), so that prune checks every delete before it drops a partition.
 */
export async function checkDeleteBatch(sql: Sql, ...batch: Batch): Promise<void> {
  await sql`explain ${deleteStatement(sql, ...batch)}`
}

/** The primary key columns of `schema.relation`, in order. */
export async function primaryKey(sql: Sql, schema: string, relation: string): Promise<string[]> {
  const rows = await sql<{ column: string }[]>`
    select a.attname as column
    from pg_index i cross join unnest(i.indkey) with ordinality k(attnum, n)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indisprimary and i.indrelid = to_regclass(format('%I.%I', ${schema}::text, ${relation}::text))
    order by k.n`
  return rows.map((r) => r.column)
}

export interface DropOptions {
  /** How long one attempt may wait for the parent's lock; readers queue behind a waiting DETACH, so keep it short. */
  lockTimeoutMs?: number
  attempts?: number
  sleep?: (ms: number) => Promise<void>
}

const LOCK_NOT_AVAILABLE = '55P03'

/**
 * Detaches partition `schema.partition` from `schema.parent` and drops it, in one transaction that holds
 * the parent's lock only for the two catalog changes. A long query on the parent makes an attempt give up
 * after `lockTimeoutMs` (rather than stall every reader queued behind it); it is retried, then exit 74.
 * Returns false when the partition was already gone (another prune got there first).
 */
export async function dropPartition(
  sql: Sql,
  schema: string,
  parent: string,
  partition: string,
  options: DropOptions = {},
): Promise<boolean> {
  const { lockTimeoutMs = 2000, attempts = 5 } = options
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin(async (tx) => {
        await tx`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`
        // drop_partition runs as the table's owner, so a role with DELETE alone may prune (migration 00003).
        const [row] = await tx<{ dropped: boolean }[]>`
          select ${tx(schema)}.drop_partition(${schema}, ${parent}, ${partition}) as dropped`
        return row?.dropped ?? false
      })
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error
      if (attempt >= attempts) {
        throw new DatabaseError(
          `Could not lock ${schema}.${parent} to drop ${partition}: other sessions kept it busy for ${attempts} tries.`,
          'A long-running query holds the table; run prune again when it has finished.',
          { cause: error },
        )
      }
      await sleep(lockTimeoutMs)
    }
  }
}

/** Total size on disk (heap, indexes, TOAST) of a partitioned table's partitions, in bytes. */
export async function tableBytes(
  sql: Sql,
  schema: string,
  table: PartitionedTable,
  distributed = false,
): Promise<number> {
  const [row] = await sql<{ bytes: string | null }[]>`
    select coalesce(sum(${sizeFunction(sql, distributed)}(inhrelid)), 0) as bytes from pg_inherits
    where inhparent = to_regclass(format('%I.%I', ${schema}::text, ${table}::text))`
  return Number(row?.bytes ?? 0)
}

/** The command and status of run `runId` in `etl_runs`, or undefined when there is no such run. */
export async function findRun(
  sql: Sql,
  schema: string,
  runId: number,
): Promise<{ command: string; status: string } | undefined> {
  const [row] = await sql<{ command: string; status: string }[]>`
    select command, status from ${sql(schema)}.etl_runs where run_id = ${runId}`
  return row
}

/** Counts (or deletes, unless `dryRun`) the `rejected_records` of run `runId` for these datasets. */
export async function pruneRejected(
  sql: Sql,
  schema: string,
  runId: number,
  datasets: readonly string[],
  dryRun: boolean,
): Promise<number> {
  const match = sql`run_id = ${runId} and dataset = any(${sql.array([...datasets])})`
  if (dryRun) {
    const [row] = await sql<{ n: string }[]>`select count(*) as n from ${sql(schema)}.rejected_records where ${match}`
    return Number(row?.n ?? 0)
  }
  const result = await sql`delete from ${sql(schema)}.rejected_records where ${match}`
  return result.count
}
