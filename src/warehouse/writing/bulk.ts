/**
 * Bulk loading of many rows of one table inside the caller's transaction, idempotently, as fast as each
 * database allows. Rows are buffered to `batchRows` and then written:
 * - on a server by COPY: straight into the table when no stored row can collide with the batch (one
 *   indexed probe decides), otherwise into a temporary table and then `insert ... on conflict do nothing`;
 * - on the embedded database by `insert ... select from unnest(...)`, since COPY FROM STDIN over the
 *   PGlite socket breaks the connection.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Db } from '../connection/connect.js'
import { CopyBatch } from './copy-batch.js'
import { insertColumns } from './insert.js'
import { ensurePartitions, type PartitionedTable } from './partitions.js'
import type { Columns } from './rows.js'

/** Rows buffered before a write: large enough for COPY to shine, small enough for flat memory. */
const BULK_BATCH_ROWS = 20_000

/**
 * A promise that rejects when the server refuses a COPY. postgres.js resolves a COPY query with its stream
 * and drops an error that arrives after the last row was sent (a duplicate key, say): the stream then never
 * finishes. Hooking the query's own `reject` surfaces that error instead of waiting forever.
 */
function copyFailure(query: object): Promise<never> {
  const pending = query as { reject: (error: unknown) => unknown }
  const failed = new Promise<never>((_, reject) => {
    const original = pending.reject
    pending.reject = (error: unknown) => {
      reject(error)
      return original(error)
    }
  })
  failed.catch(() => {}) // observed by the race in copyInto
  return failed
}

/**
 * Buffers rows of one table and writes them in bulk; `inserted` counts rows that were new. On a server the
 * next batch is rendered while the previous one is written, so when one COPY ends the next starts at once:
 * the server never waits for JavaScript between batches.
 */
export class BulkWriter {
  inserted = 0
  /** The server's batch being filled. */
  private copying: CopyBatch | undefined
  /** The embedded database's batch being filled. */
  private pending: Columns | undefined
  /** The batch being written while the next one is parsed: the server ingests as JavaScript works. */
  private writing: Promise<void> | undefined
  /** Time ranges whose partitions this writer already ensured (they stay, whatever becomes of the rows). */
  private readonly ensured: { from: Date; to: Date }[] = []

  constructor(
    private readonly sql: Db,
    private readonly schema: string,
    private readonly kind: 'server' | 'embedded',
    /** How many leading columns form the primary key (asset_history: asset_id, interval, ts). */
    private readonly keyColumns: number,
    private readonly batchRows = BULK_BATCH_ROWS,
    /** Where partitions are made (default: `sql`); see StoreOptions.partitions in loader.ts. */
    private readonly partitions: Db = sql,
  ) {}

  /** Adds rows; writes a batch once enough are buffered. */
  async add(columns: Columns): Promise<void> {
    if (columns.values.length === 0) return
    if (this.kind === 'server') {
      this.copying ??= new CopyBatch(columns.table, columns.names, columns.types, this.keyColumns - 1)
      this.copying.add(columns)
      if (this.copying.rows >= this.batchRows) await this.startWrite()
      return
    }
    const p = this.pending
    if (!p) {
      this.pending = { ...columns, values: [...columns.values] }
    } else {
      for (const row of columns.values) p.values.push(row)
      if (columns.minTime && (!p.minTime || columns.minTime < p.minTime)) p.minTime = columns.minTime
      if (columns.maxTime && (!p.maxTime || columns.maxTime > p.maxTime)) p.maxTime = columns.maxTime
    }
    if (this.pending!.values.length >= this.batchRows) await this.startWrite()
  }

  /** Writes whatever is buffered and waits for every write. Call before the transaction commits. */
  async flush(): Promise<void> {
    await this.startWrite()
    await this.writing
    this.writing = undefined
  }

  /** Takes the buffered batch, waits for the previous one, then starts writing without waiting for it. */
  private async startWrite(): Promise<void> {
    const copy = this.copying?.seal()
    const rows = this.pending
    this.copying = undefined
    this.pending = undefined
    await this.writing
    this.writing = undefined
    let writing: Promise<void> | undefined
    if (copy && copy.rows > 0) writing = this.writeToServer(copy)
    else if (rows && rows.values.length > 0) writing = this.writeEmbedded(rows)
    if (!writing) return
    writing.catch(() => {}) // surfaced by the next await of `this.writing`
    this.writing = writing
  }

  private async writeEmbedded(batch: Columns): Promise<void> {
    this.inserted += await insertColumns(this.sql, this.schema, batch)
  }

  private async writeToServer(batch: CopyBatch): Promise<void> {
    await this.ensurePartitionsOnce(batch)
    if (await this.mayCollide(batch)) {
      this.inserted += await this.copyViaStage(batch)
    } else {
      await this.copyInto(`"${this.schema}".${batch.table}`, batch)
      this.inserted += batch.rows
    }
  }

  /** Creates the batch's partitions unless an earlier batch of this transaction already did. */
  private async ensurePartitionsOnce({ table, minTime: from, maxTime: to }: CopyBatch): Promise<void> {
    if (!from || !to) return
    if (this.ensured.some((r) => r.from <= from && to <= r.to)) return
    await ensurePartitions(this.partitions, this.schema, table as PartitionedTable, from, to)
    this.ensured.push({ from, to })
  }

  /** Whether any stored row shares a key prefix and falls in the batch's time range. */
  private async mayCollide(batch: CopyBatch): Promise<boolean> {
    const prefix = this.keyColumns - 1
    const keyNames = batch.names.slice(0, prefix)
    const timeColumn = batch.names[prefix]!
    const conditions = keyNames.map((name, i) => `t.${name} = k.c${i}`).join(' and ')
    const unnest = keyNames.map((_, i) => `$${i + 1}::text[]`).join(', ')
    const aliases = keyNames.map((_, i) => `c${i}`).join(', ')
    const prefixes = batch.prefixes()
    const [row] = await this.sql.unsafe(
      `select exists (
         select 1 from unnest(${unnest}) as k(${aliases})
         join "${this.schema}".${batch.table} t on ${conditions}
         and t.${timeColumn} between $${prefix + 1}::timestamptz and $${prefix + 2}::timestamptz
       ) as hit`,
      [...keyNames.map((_, i) => prefixes.map((k) => k[i]!)), batch.minTime, batch.maxTime] as never[],
    )
    return Boolean(row?.hit)
  }

  private async copyInto(target: string, batch: CopyBatch): Promise<void> {
    const query = this.sql.unsafe(`copy ${target} (${batch.names.join(', ')}) from stdin`)
    const failed = copyFailure(query)
    const stream = await query.writable()
    await Promise.race([pipeline(Readable.from(batch.chunks, { objectMode: false }), stream), failed])
  }

  private async copyViaStage(batch: CopyBatch): Promise<number> {
    const stage = `crypto_etl_stage_${batch.table}`
    await this.sql.unsafe(
      `create temp table if not exists ${stage} (like "${this.schema}".${batch.table} including defaults) on commit drop`,
    )
    await this.sql.unsafe(`truncate ${stage}`)
    await this.copyInto(stage, batch)
    const result = await this.sql.unsafe(
      `insert into "${this.schema}".${batch.table} (${batch.names.join(', ')})
       select ${batch.names.join(', ')} from ${stage} on conflict do nothing`,
    )
    return result.count
  }
}
