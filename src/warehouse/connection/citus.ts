/**
 * The warehouse on Citus: which tables are distributed, and `migrate --distributed`, which shards the fact
 * tables and their dimensions by entity id in one co-location group (so every join and lateral lookup on
 * the entity id runs on the worker that holds both sides), and leaves the bookkeeping tables on the
 * coordinator.
 */
import { CATALOGUE, type DatasetFacts, DATASETS } from '../../catalogue/index.js'
import { ConfigError } from '../../core/errors.js'
import type { Db, Warehouse } from './connect.js'

/**
 * Each distributed table and the column it is sharded by, from the catalogue: every dataset's table and its
 * dimension, grouped by shard column (in catalogue order), so `asset_snapshots` comes first and the others
 * are co-located with it. `assets` and `exchanges` are distributed, not reference tables, because `query`
 * joins them laterally to their snapshots, which Citus plans only between co-located tables.
 */
export const DISTRIBUTION: readonly { table: string; column: string }[] = distribution()

function distribution(): { table: string; column: string }[] {
  const tables = DATASETS.flatMap((d) => {
    const { table, shardColumn, dimension } = CATALOGUE[d] as DatasetFacts
    const own = { table, column: shardColumn }
    return dimension ? [own, { table: dimension.table, column: dimension.columns[0]![0] }] : [own]
  })
  const columns = [...new Set(tables.map((t) => t.column))]
  return columns.flatMap((column) => tables.filter((t) => t.column === column))
}

/** True when the database has the Citus extension (its catalog can then be read). */
async function hasCitus(sql: Db): Promise<boolean> {
  const [row] = await sql<
    { citus: boolean }[]
  >`select exists (select 1 from pg_extension where extname = 'citus') as citus`
  return row?.citus ?? false
}

/** The tables of `schema` Citus distributes (hash or reference), by name; empty without Citus. */
export async function distributedTables(sql: Db, schema: string): Promise<Set<string>> {
  if (!(await hasCitus(sql))) return new Set()
  const rows = await sql<{ name: string }[]>`
    select c.relname as name from pg_dist_partition p
    join pg_class c on c.oid = p.logicalrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema}`
  return new Set(rows.map((r) => r.name))
}

/** Where each table of DISTRIBUTION stands: its distribution column and co-location group, if distributed. */
async function currentDistribution(sql: Db, schema: string) {
  return sql<{ table: string; method: string; column: string | null; colocation: number }[]>`
    select c.relname as table, p.partmethod as method, column_to_column_name(p.logicalrelid, p.partkey) as column,
      p.colocationid::int as colocation
    from pg_dist_partition p
    join pg_class c on c.oid = p.logicalrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and not c.relispartition`
}

export interface DistributeResult {
  /** Tables this call distributed (a table distributed otherwise before is redistributed and listed). */
  distributed: string[]
  alreadyDistributed: number
}

const CITUS_HINT =
  "Install Citus on the server (shared_preload_libraries = 'citus', then create extension citus) and point --database-url at its coordinator, or migrate without --distributed."

/** The refusal of `--distributed` where there is no Citus: `target` names the database. */
export function noCitusError(target: string): ConfigError {
  return new ConfigError(`--distributed needs Citus, which is not installed in ${target}.`, CITUS_HINT)
}

/**
 * Refuses (78) unless the warehouse is a server with the Citus extension, on its coordinator.
 * Call before migrating, so a refused `migrate --distributed` creates nothing.
 */
export async function checkCitusCoordinator(warehouse: Warehouse): Promise<void> {
  const target = `the database at ${warehouse.location}`
  if (!(await hasCitus(warehouse.sql))) throw noCitusError(target)
  const [row] = await warehouse.sql<{ coordinator: boolean }[]>`select citus_is_coordinator() as coordinator`
  if (!row?.coordinator) {
    throw new ConfigError(`--distributed must run on the Citus coordinator; ${target} is a worker.`, CITUS_HINT)
  }
}

/**
 * Distributes the warehouse's tables as DISTRIBUTION says, in one transaction: all or nothing. Idempotent;
 * a table distributed some other way (a reference table, another column) is undistributed first. Rows
 * already stored move to the workers.
 */
export async function distributeWarehouse(warehouse: Warehouse): Promise<DistributeResult> {
  const { sql, schema } = warehouse
  const name = (table: string) => `"${schema}"."${table}"`
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`crypto-etl:migrate:${schema}`}))`
    // Citus opens one connection per shard placement within a transaction that creates tables.
    await tx`select set_config('citus.multi_shard_modify_mode', 'sequential', true)`
    const current = new Map((await currentDistribution(tx, schema)).map((r) => [r.table, r]))
    const done: string[] = []
    let anchor: number | undefined
    let anchorMoved = false
    const anchorTable = DISTRIBUTION[0]!.table
    for (const { table, column } of DISTRIBUTION) {
      const first = table === anchorTable
      const now = current.get(table)
      // Once the first table is (re)distributed, the others must join its new co-location group.
      const inGroup = first || (!anchorMoved && now?.colocation === anchor)
      if (now && now.method === 'h' && now.column === column && inGroup) {
        if (first) anchor = now.colocation
        continue
      }
      if (now) await tx`select undistribute_table(${name(table)})`
      const colocateWith = first ? 'default' : name(anchorTable)
      await tx`select create_distributed_table(${name(table)}, ${column}, colocate_with => ${colocateWith})`
      if (first) anchorMoved = true
      done.push(table)
    }
    return { distributed: done, alreadyDistributed: DISTRIBUTION.length - done.length }
  })
}
