/**
 * `prune`: deletes snapshot (and, when named, history) rows by age, or rolls back a bad load by time or
 * by run. Whole partitions inside the window are detached and dropped; only partitions straddling a
 * cutoff are deleted from, in bounded batches, each its own short transaction, so an interrupt leaves a
 * consistent state and no lock is held for long.
 */
import { CATALOGUE, DATASETS, type Dataset, type DatasetTable, SNAPSHOT_DATASETS } from '../catalogue/index.js'
import { parseTime } from '../config/time.js'
import { UsageError } from '../core/errors.js'
import { type Logger, silentLogger } from '../core/log.js'
import { VERSION } from '../core/version.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { distributedTables } from '../warehouse/connection/citus.js'
import {
  checkDeleteBatch,
  countRows,
  type DropOptions,
  deleteBatch,
  dropPartition,
  findRun,
  listPartitions,
  type Partition,
  primaryKey,
  pruneRejected,
  type RowFilter,
  tableBytes,
} from '../warehouse/writing/prune.js'
import { markRolledBack, recordRun } from '../warehouse/ledgers/runs.js'

/** Rows per DELETE statement inside a boundary partition: small enough that each batch commits in well under a second. */
export const DEFAULT_BATCH_SIZE = 20_000

/**
 * What to prune. Criteria combine with AND: `olderThan` keeps rows at or after it, `newerThan` keeps rows
 * before it, `run` keeps other runs' rows. A time is a Date, or text (a duration counted back from `now`,
 * or an ISO date).
 */
export interface PruneOptions {
  olderThan?: Date | string
  newerThan?: Date | string
  run?: number
  /** Default: the four snapshot datasets; with `run`, history too (a run's rows are rolled back wherever they are). */
  datasets?: readonly Dataset[]
  dryRun?: boolean
  batchSize?: number
  now?: Date
  signal?: AbortSignal
  logger?: Logger
  drop?: DropOptions
}

/** What happened (or, in a dry run, would happen) to one table. */
export interface PruneTableResult {
  table: string
  dataset: Dataset | null
  rows: number
  partitionsDropped: number
  batches: number
  /** Size on disk of the table's partitions before, and after (in a dry run: after the partition drops). */
  bytesBefore: number
  bytesAfter: number
}

/** The outcome of `prune`, as `--json` prints it. Times are ISO 8601 (UTC). */
export interface PruneResult {
  dryRun: boolean
  olderThan: string | null
  newerThan: string | null
  /** The run whose rows were rolled back (`--run`). */
  run: number | null
  tables: PruneTableResult[]
  rows: number
  partitionsDropped: number
  ms: number
  /** This prune's row in `etl_runs` (null for a dry run, which is not recorded). */
  runId: number | null
}

interface Criteria {
  from?: Date
  to?: Date
  run?: number
  datasets: Dataset[]
  batchSize: number
}

function toTime(value: Date | string | undefined, flag: string, now: Date): Date | undefined {
  if (value === undefined || value instanceof Date) return value
  const time = parseTime(value, now)
  if (!time) throw new UsageError(`--${flag} '${value}' is neither a duration (30d) nor a date (2025-01-01).`)
  return time
}

/**
 * Checks the options without touching the database.
 * @throws UsageError (exit 2) without a criterion, with an empty time window, a bad time or a bad run id.
 */
export function resolvePruneCriteria(options: PruneOptions): Criteria {
  const now = options.now ?? new Date()
  const to = toTime(options.olderThan, 'older-than', now)
  const from = toTime(options.newerThan, 'newer-than', now)
  const { run } = options
  if (!to && !from && run === undefined) {
    throw new UsageError(
      'Nothing to prune: give --older-than, --newer-than or --run.',
      'e.g. crypto-etl prune --older-than 30d --dry-run',
    )
  }
  if (run !== undefined && !(Number.isSafeInteger(run) && run > 0)) {
    throw new UsageError(`--run ${run} is not a run id; run ids are positive whole numbers.`)
  }
  if (to && from && from >= to) {
    throw new UsageError(
      `--newer-than ${from.toISOString()} is not before --older-than ${to.toISOString()}: no row is in both.`,
      'Together they select the window newer-than <= time < older-than.',
    )
  }
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
  if (!(Number.isSafeInteger(batchSize) && batchSize > 0)) throw new UsageError(`Bad batch size ${batchSize}.`)
  const datasets = options.datasets?.length
    ? DATASETS.filter((d) => options.datasets?.includes(d))
    : run !== undefined
      ? DATASETS
      : SNAPSHOT_DATASETS
  return { from, to, run, datasets, batchSize }
}

/** A partition wholly inside [from, to) is dropped (never with `run`: it may hold other runs' rows). */
function classify(p: Partition, c: Criteria): 'drop' | 'delete' | 'skip' {
  const lowerIn = c.from === undefined || (p.lower !== null && p.lower >= c.from)
  const upperIn = c.to === undefined || (p.upper !== null && p.upper <= c.to)
  if (!p.isDefault && lowerIn && upperIn && c.run === undefined) return 'drop'
  const disjoint =
    !p.isDefault &&
    ((c.to !== undefined && p.lower !== null && p.lower >= c.to) ||
      (c.from !== undefined && p.upper !== null && p.upper <= c.from))
  return disjoint ? 'skip' : 'delete'
}

/**
 * Prunes the warehouse as `options` say and records it in `etl_runs` (command `prune`, rows per table),
 * except a dry run, which only counts. A row is removed when `newerThan <= time < olderThan`, so a row
 * exactly at the `--older-than` cutoff stays. Dimension tables are never touched; with `run`, that run's
 * `rejected_records` go too. On abort (`signal`) it stops between two statements, records the run as
 * `interrupted` and throws the signal's reason; what was already deleted stays deleted.
 */
export async function prune(warehouse: Warehouse, options: PruneOptions): Promise<PruneResult> {
  const started = performance.now()
  const c = resolvePruneCriteria(options)
  const { sql, schema } = warehouse
  const logger = options.logger ?? silentLogger
  const dryRun = options.dryRun ?? false
  if (c.run !== undefined) {
    const found = await findRun(sql, schema, c.run)
    if (!found) throw new UsageError(`Run ${c.run} is not in etl_runs.`, 'See the run ids with: crypto-etl query runs')
    if (found.status === 'running') logger.warn(`run ${c.run} (${found.command}) is marked running; pruning its rows`)
  }
  const tables: PruneTableResult[] = c.datasets.map((dataset) => ({
    table: CATALOGUE[dataset].table,
    dataset,
    rows: 0,
    partitionsDropped: 0,
    batches: 0,
    bytesBefore: 0,
    bytesAfter: 0,
  }))
  const rowsByTable = () => Object.fromEntries(tables.map((t) => [t.table, t.rows]))
  const result = (runId: number | null): PruneResult => ({
    dryRun,
    olderThan: c.to?.toISOString() ?? null,
    newerThan: c.from?.toISOString() ?? null,
    run: c.run ?? null,
    tables,
    rows: tables.reduce((n, t) => n + t.rows, 0),
    partitionsDropped: tables.reduce((n, t) => n + t.partitionsDropped, 0),
    ms: Math.round(performance.now() - started),
    runId,
  })
  if (dryRun) {
    await pruneTables(warehouse, c, tables, options, logger)
    return result(null)
  }
  const start = { command: 'prune', datasets: tables.map((t) => t.table), version: VERSION, signal: options.signal }
  const recorded = async (runId: number) => {
    await pruneTables(warehouse, c, tables, options, logger)
    if (c.run !== undefined) await markRolledBack(sql, c.run, runId)
    return { result: result(runId), outcome: { status: 'ok', rows: rowsByTable() } as const }
  }
  // What was deleted before a failure stays deleted: the run records it.
  return recordRun(sql, start, recorded, () => ({ rows: rowsByTable() }))
}

/** Plans every table's prune, then prunes them in turn (`tables` gets the counts); a dry run only counts. */
async function pruneTables(
  warehouse: Warehouse,
  c: Criteria,
  tables: PruneTableResult[],
  options: PruneOptions,
  logger: Logger,
): Promise<void> {
  const { sql, schema } = warehouse
  const dryRun = options.dryRun ?? false
  const distributed = await distributedTables(sql, schema)
  const plans: TablePlan[] = []
  for (const dataset of c.datasets) plans.push(await planTable(warehouse, dataset, c, distributed))
  // Every delete is planned by the database before the first partition goes, so one it refuses (Citus
  // cannot plan every delete) fails the prune with nothing changed rather than half done.
  for (const plan of plans) {
    for (const { partition, action } of plan.partitions) {
      if (action !== 'delete') continue
      await checkDeleteBatch(sql, schema, partition.name, plan.filter, c.batchSize, plan.key)
    }
  }
  for (const [i, plan] of plans.entries()) await pruneTable(warehouse, plan, c, tables[i]!, dryRun, options, logger)
  if (c.run !== undefined) {
    options.signal?.throwIfAborted()
    const rows = await pruneRejected(sql, schema, c.run, c.datasets, dryRun)
    const batches = rows ? 1 : 0
    tables.push({ ...EMPTY, table: 'rejected_records', dataset: null, rows, batches })
  }
}

const EMPTY = { rows: 0, partitionsDropped: 0, batches: 0, bytesBefore: 0, bytesAfter: 0 }

/** What prune does to each partition of one table, decided before anything changes. */
interface TablePlan {
  table: DatasetTable
  filter: RowFilter
  partitions: { partition: Partition; action: 'drop' | 'delete' | 'skip' }[]
  /** Citus: the table is distributed (sizes come from its shards, batches go by `key`). */
  distributed: boolean
  /** The primary key that batches deletes on a distributed table. */
  key?: string[]
}

async function planTable(
  warehouse: Warehouse,
  dataset: Dataset,
  c: Criteria,
  distributedNames: Set<string>,
): Promise<TablePlan> {
  const { sql, schema } = warehouse
  const { table, timeColumn } = CATALOGUE[dataset]
  const distributed = distributedNames.has(table)
  const partitions = await listPartitions(sql, schema, table, distributed)
  return {
    table,
    filter: { timeColumn, from: c.from, to: c.to, runId: c.run },
    partitions: partitions.map((partition) => ({ partition, action: classify(partition, c) })),
    distributed,
    key: distributed ? await primaryKey(sql, schema, table) : undefined,
  }
}

/** Drops or deletes from each partition of one table in turn, as planned, adding to `out`; a dry run only counts. */
async function pruneTable(
  warehouse: Warehouse,
  plan: TablePlan,
  c: Criteria,
  out: PruneTableResult,
  dryRun: boolean,
  options: PruneOptions,
  logger: Logger,
): Promise<void> {
  const { sql, schema } = warehouse
  const { table, filter, key } = plan
  out.bytesBefore = plan.partitions.reduce((n, { partition }) => n + partition.bytes, 0)
  out.bytesAfter = out.bytesBefore
  for (const { partition: p, action } of plan.partitions) {
    options.signal?.throwIfAborted()
    if (action === 'drop') {
      // Counted just before the drop: a partition wholly in the past gets no new rows meanwhile.
      const rows = await countRows(sql, schema, p.name)
      if (dryRun || (await dropPartition(sql, schema, table, p.name, options.drop))) {
        out.rows += rows
        out.partitionsDropped++
        out.bytesAfter -= p.bytes
        if (!dryRun) logger.debug('partition dropped', { partition: p.name, rows })
      }
    } else if (action === 'delete' && dryRun) {
      const rows = await countRows(sql, schema, p.name, filter)
      out.rows += rows
      out.batches += Math.ceil(rows / c.batchSize)
    } else if (action === 'delete') {
      for (let deleted = c.batchSize; deleted === c.batchSize;) {
        options.signal?.throwIfAborted()
        deleted = await deleteBatch(sql, schema, p.name, filter, c.batchSize, key)
        out.rows += deleted
        if (deleted > 0) out.batches++
      }
    }
  }
  if (!dryRun) out.bytesAfter = await tableBytes(sql, schema, table, plan.distributed)
}
