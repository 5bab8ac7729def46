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
import type { Db } from './connect.js'
import { insertColumns } from './loader.js'
import { ensurePartitions, type PartitionedTable } from './partitions.js'
import type { Columns } from './rows.js'

/** Rows buffered before a write: large enough for COPY to shine, small enough for flat memory. */
export const BULK_BATCH_ROWS = 20_000

/** Escapes one cell for COPY's text format. */
function copyCell(cell: unknown): string {
  if (cell === null || cell === undefined) return '\\N'
  const text = String(cell)
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : text
}

function plainCell(cell: unknown): string {
  return cell === null || cell === undefined ? '\\N' : String(cell)
}

function samePrefix(a: readonly unknown[], b: readonly unknown[], n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

/** The first `n` cells of a row as one string key. */
function keyOf(row: readonly unknown[], n: number): string {
  let key = String(row[0])
  for (let i = 1; i < n; i++) key += `\u0000${String(row[i])}`
  return key
}

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
 * A batch made ready for the server while the previous one is still being written: duplicate keys
 * dropped, the distinct key prefixes listed for the collision probe, and the COPY text rendered. When the
 * previous COPY ends, the next starts at once: the server never waits for JavaScript between batches.
 */
interface PreparedBatch {
  batch: Columns
  /** The distinct key prefixes (e.g. asset and interval) of the batch. */
  prefixes: string[][]
  /** The rows in COPY's text format, in chunks of {@link COPY_CHUNK_ROWS} rows. */
  copyText: Buffer[]
}

/** Rows per chunk of COPY text: one CopyData message each. */
const COPY_CHUNK_ROWS = 2000

/** Buffers rows of one table and writes them in bulk; `inserted` counts rows that were new. */
export class BulkWriter {
  inserted = 0
  private pending: Columns | undefined
  /** The batch being written while the next one is parsed: the server ingests as JavaScript works. */
  private writing: Promise<void> | undefined
  /** Time ranges whose partitions this writer already ensured (they stay until the transaction ends). */
  private readonly ensured: { from: Date; to: Date }[] = []
  private readonly keyColumns: number

  constructor(
    private readonly sql: Db,
    private readonly schema: string,
    private readonly kind: 'server' | 'embedded',
    /** How many leading columns form the primary key (asset_history: asset_id, interval, ts). */
    keyColumns: number,
    private readonly batchRows = BULK_BATCH_ROWS,
  ) {
    this.keyColumns = keyColumns
  }

  /** Adds rows; writes a batch once enough are buffered. */
  async add(columns: Columns): Promise<void> {
    if (columns.values.length === 0) return
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

  /** Prepares the buffered batch, waits for the previous one, then starts writing without waiting for it. */
  private async startWrite(): Promise<void> {
    const batch = this.pending
    this.pending = undefined
    const prepared = batch && batch.values.length > 0 && this.kind === 'server' ? this.prepare(batch) : undefined
    await this.writing
    if (!batch || batch.values.length === 0) {
      this.writing = undefined
      return
    }
    const writing = prepared ? this.writeToServer(prepared) : this.writeEmbedded(batch)
    writing.catch(() => {}) // surfaced by the next await of `this.writing`
    this.writing = writing
  }

  private async writeEmbedded(batch: Columns): Promise<void> {
    this.inserted += await insertColumns(this.sql, this.schema, batch)
  }

  private async writeToServer(prepared: PreparedBatch): Promise<void> {
    const { batch } = prepared
    await this.ensurePartitionsOnce(batch)
    if (await this.mayCollide(prepared)) {
      this.inserted += await this.copyViaStage(prepared)
    } else {
      await this.copyInto(`"${this.schema}".${batch.table}`, prepared)
      this.inserted += batch.values.length
    }
  }

  /** Creates the batch's partitions unless an earlier batch of this transaction already did. */
  private async ensurePartitionsOnce(batch: Columns): Promise<void> {
    const { minTime: from, maxTime: to } = batch
    if (!from || !to) return
    if (this.ensured.some((r) => r.from <= from && to <= r.to)) return
    await ensurePartitions(this.sql, this.schema, batch.table as PartitionedTable, from, to)
    this.ensured.push({ from, to })
  }

  private prepare(batch: Columns): PreparedBatch {
    const { values, prefixes } = this.dedupe(batch)
    const unique = { ...batch, values }
    return { batch: unique, prefixes, copyText: renderCopyText(unique) }
  }

  /** Drops rows whose key repeats within the batch (COPY straight into the table would fail on them). */
  private dedupe(batch: Columns): { values: Columns['values']; prefixes: string[][] } {
    const prefix = this.keyColumns - 1
    // Rows arrive grouped by key prefix (one answer is one asset and interval), so the prefix's set of
    // times is looked up once per group, and no key string is built per row.
    const seen = new Map<string, Set<unknown>>()
    let lastRow: Columns['values'][number] | undefined
    let times = new Set<unknown>()
    const values = batch.values.filter((row) => {
      if (!lastRow || !samePrefix(row, lastRow, prefix)) {
        const key = keyOf(row, prefix)
        times = seen.get(key) ?? new Set()
        seen.set(key, times)
        lastRow = row
      }
      const time = row[prefix]
      if (times.has(time)) return false
      times.add(time)
      return true
    })
    return { values, prefixes: [...seen.keys()].map((key) => key.split('\u0000')) }
  }

  /** Whether any stored row shares a key prefix and falls in the batch's time range. */
  private async mayCollide({ batch, prefixes }: PreparedBatch): Promise<boolean> {
    const prefix = this.keyColumns - 1
    const timeColumn = batch.names[prefix]!
    const conditions = batch.names
      .slice(0, prefix)
      .map((name, i) => `t.${name} = k.c${i}`)
      .join(' and ')
    const unnest = batch.names
      .slice(0, prefix)
      .map((_, i) => `$${i + 1}::text[]`)
      .join(', ')
    const aliases = batch.names
      .slice(0, prefix)
      .map((_, i) => `c${i}`)
      .join(', ')
    const [row] = await this.sql.unsafe(
      `select exists (
         select 1 from unnest(${unnest}) as k(${aliases})
         join "${this.schema}".${batch.table} t on ${conditions}
         and t.${timeColumn} between $${prefix + 1}::timestamptz and $${prefix + 2}::timestamptz
       ) as hit`,
      [
        ...batch.names.slice(0, prefix).map((_, i) => prefixes.map((k) => k[i]!)),
        batch.minTime,
        batch.maxTime,
      ] as never[],
    )
    return Boolean(row?.hit)
  }

  private async copyInto(target: string, { batch, copyText }: PreparedBatch): Promise<void> {
    const query = this.sql.unsafe(`copy ${target} (${batch.names.join(', ')}) from stdin`)
    const failed = copyFailure(query)
    const stream = await query.writable()
    await Promise.race([pipeline(Readable.from(copyText, { objectMode: false }), stream), failed])
  }

  private async copyViaStage(prepared: PreparedBatch): Promise<number> {
    const { batch } = prepared
    const stage = `crypto_etl_stage_${batch.table}`
    await this.sql.unsafe(
      `create temp table if not exists ${stage} (like "${this.schema}".${batch.table} including defaults) on commit drop`,
    )
    await this.sql.unsafe(`truncate ${stage}`)
    await this.copyInto(stage, prepared)
    const result = await this.sql.unsafe(
      `insert into "${this.schema}".${batch.table} (${batch.names.join(', ')})
       select ${batch.names.join(', ')} from ${stage} on conflict do nothing`,
    )
    return result.count
  }
}

/** The rows of `batch` in COPY's text format, in chunks of {@link COPY_CHUNK_ROWS} rows. */
function renderCopyText(batch: Columns): Buffer[] {
  const rows = batch.values
  // Only text columns can hold a tab, newline or backslash; numbers and times are written as they are.
  const cell = batch.types.map((type) => (type === 'text' || type === 'jsonb' ? copyCell : plainCell))
  // Buffers, not strings: a concatenated string is a tree of pieces the garbage collector would walk
  // again and again while the batch waits for its turn.
  const chunks: Buffer[] = []
  for (let i = 0; i < rows.length; i += COPY_CHUNK_ROWS) {
    let text = ''
    const end = Math.min(i + COPY_CHUNK_ROWS, rows.length)
    for (let r = i; r < end; r++) {
      const row = rows[r]!
      let line = cell[0]!(row[0])
      for (let c = 1; c < row.length; c++) line += `\t${cell[c]!(row[c])}`
      text += `${line}\n`
    }
    chunks.push(Buffer.from(text))
  }
  return chunks
}
