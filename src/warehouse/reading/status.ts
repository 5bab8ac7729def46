/** The queries behind `status`: freshness per dataset, table sizes, credits, and the runs the health check reads. */
import { CATALOGUE, DATASETS, type Dataset } from '../../catalogue/index.js'
import { distributedTables } from '../connection/citus.js'
import type { Sql } from '../connection/connect.js'
import { newestObservedAt } from './queries.js'

/**
 * The newest `column` value of a partitioned table without an index on it (`asset_history`, whose primary
 * key starts with asset_id): instead of a scan of every partition, this reads the partitions newest first
 * (their names end in the date) and stops at the first with rows.
 */
async function newestInPartitions(sql: Sql, schema: string, table: string, column: string): Promise<Date | null> {
  const parts = await sql<{ name: string }[]>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = (quote_ident(${schema}) || '.' || quote_ident(${table}))::regclass
    order by c.relname desc`
  for (const { name } of parts) {
    const [row] = await sql<{ at: Date | null }[]>`select max(${sql(column)}) as at from ${sql(`${schema}.${name}`)}`
    if (row?.at) return row.at
  }
  return null
}

/**
 * The newest time of a dataset's table, null when it has no rows: snapshot tables have an index on
 * `observed_at`; history's points are found partition by partition.
 */
function newestOfDataset(sql: Sql, schema: string, dataset: Dataset): Promise<Date | null> {
  const { kind, table, timeColumn } = CATALOGUE[dataset]
  return kind === 'snapshot' ? newestObservedAt(sql, table) : newestInPartitions(sql, schema, table, timeColumn)
}

/** The newest `observed_at` (history: `ts`) of every dataset, null when it has no rows. */
export async function newestPerDataset(sql: Sql, schema: string): Promise<Record<Dataset, Date | null>> {
  const newest = await Promise.all(DATASETS.map((d) => newestOfDataset(sql, schema, d)))
  return Object.fromEntries(DATASETS.map((d, i) => [d, newest[i] ?? null])) as Record<Dataset, Date | null>
}

/** Tables whose rows are counted exactly; larger ones report the planner's estimate. */
const EXACT_COUNT_MAX_BYTES = 64 * 2 ** 20

export interface TableStats {
  table: string
  rows: number
  /** True when `rows` is `pg_class.reltuples` summed over partitions (as of the last ANALYZE). */
  estimated: boolean
  /** `pg_total_relation_size` summed over partitions: data, indexes and TOAST (on Citus, of every shard). */
  bytes: number
}

/** The leaf relations of the named tables of `schema`: a plain table itself, a partitioned one its partitions. */
function leaves(sql: Sql, schema: string, tables: string[]) {
  return sql`
    select t.relname as table, l.oid
    from pg_class t join pg_namespace n on n.oid = t.relnamespace
    cross join lateral (
      select t.oid where t.relkind = 'r' union select relid from pg_partition_tree(t.oid) where isleaf
    ) l(oid)
    where n.nspname = ${schema} and t.relname = any(${sql.array(tables)}::text[]) and not t.relispartition`
}

/**
 * Size of the distributed tables of `schema`, summed over their shards on every node of the Citus cluster:
 * the coordinator's own relations of a distributed table are empty shells.
 */
async function clusterBytes(sql: Sql, schema: string, tables: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ table: string; bytes: number }[]>`
    select l.table, sum(citus_total_relation_size(l.oid))::float8 as bytes
    from (${leaves(sql, schema, tables)}) l group by l.table`
  return new Map(rows.map((r) => [r.table, r.bytes]))
}

/**
 * Row estimates of distributed tables, summed over their shards. One command per shard (seconds for a few
 * tables of day partitions), so asked only for the tables too big to count.
 */
async function clusterEstimates(sql: Sql, schema: string, tables: string[]): Promise<Map<string, number>> {
  if (tables.length === 0) return new Map()
  const rows = await sql<{ table: string; estimate: number }[]>`
    select l.table, sum((
        select coalesce(sum(r.result::float8), 0)
        from run_command_on_shards(l.oid::regclass, $$select greatest(reltuples, 0) from pg_class where oid = '%s'::regclass$$) r
        where r.success
      ))::float8 as estimate
    from (${leaves(sql, schema, tables)}) l group by l.table`
  return new Map(rows.map((r) => [r.table, r.estimate]))
}

/** Rows and size of every table of the schema, partitions summed into their parent. */
export async function tableStats(sql: Sql, schema: string): Promise<TableStats[]> {
  // Whole numbers travel as int8 text, exact whatever the session's extra_float_digits (see session-settings.ts).
  const tables = await sql<{ table: string; bytes: string; estimate: string }[]>`
    select t.relname as table,
      sum(pg_total_relation_size(c.oid))::int8 as bytes,
      round(sum(case when c.relkind = 'r' then greatest(c.reltuples, 0) else 0 end))::int8 as estimate
    from pg_class t join pg_namespace n on n.oid = t.relnamespace
    -- A plain table is its own tree; pg_partition_tree lists a partitioned one with its partitions.
    cross join lateral (select t.oid union select relid from pg_partition_tree(t.oid)) p(oid)
    join pg_class c on c.oid = p.oid
    where n.nspname = ${schema} and t.relkind in ('r', 'p') and not t.relispartition
    group by t.relname order by t.relname`
  const distributed = await distributedTables(sql, schema)
  if (distributed.size > 0) {
    const bytes = await clusterBytes(sql, schema, [...distributed])
    for (const t of tables) if (bytes.has(t.table)) t.bytes = String(bytes.get(t.table))
    const big = tables.filter((t) => distributed.has(t.table) && Number(t.bytes) > EXACT_COUNT_MAX_BYTES)
    const estimates = await clusterEstimates(
      sql,
      schema,
      big.map((t) => t.table),
    )
    for (const t of big) t.estimate = String(estimates.get(t.table) ?? 0)
  }
  const stats: TableStats[] = []
  for (const t of tables) {
    const bytes = Number(t.bytes)
    if (bytes > EXACT_COUNT_MAX_BYTES) {
      stats.push({ table: t.table, rows: Number(t.estimate), estimated: true, bytes })
      continue
    }
    const [row] = await sql<{ n: string }[]>`select count(*) as n from ${sql(`${schema}.${t.table}`)}`
    stats.push({ table: t.table, rows: Number(row?.n ?? 0), estimated: false, bytes })
  }
  return stats
}

/** API credits recorded in `etl_runs` for runs started at or after `since`. */
export async function creditsSince(sql: Sql, since: Date): Promise<number> {
  const [row] = await sql<{ credits: string }[]>`
    select coalesce(sum(api_credits), 0) as credits from etl_runs where started_at >= ${since}`
  return Number(row?.credits ?? 0)
}

/** A run as the health check reads it. */
export interface LoadingRun {
  run_id: number
  command: string
  status: string
  started_at: Date
  datasets: string[]
  error: string | null
}

/**
 * The non-skipped runs started with `flag` among their arguments (`etl_runs.args`) since `since`, newest
 * first: the runs of the schedule.
 */
export async function recentRunsWithFlag(sql: Sql, flag: string, since: Date): Promise<LoadingRun[]> {
  return sql<LoadingRun[]>`
    select run_id::float8 as run_id, command, status, started_at, datasets, error from etl_runs
    where started_at >= ${since} and status <> 'skipped' and ${flag} = any(args)
    order by started_at desc, run_id desc`
}

/**
 * The non-skipped runs of `commands` started within `window` ms before the newest of them, newest
 * first: what the schedule has been loading lately. A command matches by its first word, so
 * `run --demo` is a `run`.
 */
export async function recentLoadingRuns(
  sql: Sql,
  commands: readonly string[],
  windowMs: number,
): Promise<LoadingRun[]> {
  const loading = sql`split_part(command, ' ', 1) = any(${sql.array([...commands])}::text[]) and status <> 'skipped'`
  const runs = await sql<(Omit<LoadingRun, 'run_id'> & { run_id: string })[]>`
    select run_id, command, status, started_at, datasets, error from etl_runs
    where ${loading}
      and started_at >= (
        select started_at from etl_runs where ${loading} order by started_at desc limit 1
      ) - ${`${windowMs} ms`}::interval
    order by started_at desc, run_id desc`
  return runs.map((r) => ({ ...r, run_id: Number(r.run_id) }))
}
