/**
 * One batch of rows for COPY, rendered to COPY's text format as the rows arrive. A row lives only as long
 * as the answer it came from: what waits for the server is compact text outside the JavaScript heap, not
 * millions of small arrays that survive long enough to fill the old generation.
 */
import type { Columns } from './rows.js'

/** Rows per chunk of COPY text: one CopyData message each. */
const COPY_CHUNK_ROWS = 2000

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
 * Rows of one table for one COPY: a row whose key repeats within the batch is dropped (COPY straight into
 * the table would fail on it), and the distinct key prefixes (e.g. asset and interval) are kept for the
 * collision probe.
 */
export class CopyBatch {
  /** Rows rendered (duplicates within the batch not counted). */
  rows = 0
  /** Earliest and latest partition-key time of the rows added (before dropping duplicates). */
  minTime: Date | undefined
  maxTime: Date | undefined
  /** The rendered rows, in chunks of {@link COPY_CHUNK_ROWS} rows; complete once {@link seal} is called. */
  readonly chunks: Buffer[] = []
  private text = ''
  private rowsInText = 0
  /** Times seen per key prefix. */
  private readonly seen = new Map<string, Set<unknown>>()
  private readonly render: ((cell: unknown) => string)[]

  constructor(
    readonly table: string,
    readonly names: readonly string[],
    types: readonly string[],
    /** How many leading columns form the key before its time column (asset_history: asset_id, interval). */
    private readonly prefixColumns: number,
  ) {
    // Only text columns can hold a tab, newline or backslash; numbers and times are written as they are.
    this.render = types.map((type) => (type === 'text' || type === 'jsonb' ? copyCell : plainCell))
  }

  add(columns: Columns): void {
    const n = this.prefixColumns
    const render = this.render
    // Rows arrive grouped by key prefix (one answer is one asset and interval), so the prefix's set of
    // times is looked up once per group, and no key string is built per row.
    let lastRow: Columns['values'][number] | undefined
    let times = new Set<unknown>()
    for (const row of columns.values) {
      if (!lastRow || !samePrefix(row, lastRow, n)) {
        const key = keyOf(row, n)
        times = this.seen.get(key) ?? new Set()
        this.seen.set(key, times)
        lastRow = row
      }
      if (times.has(row[n])) continue
      times.add(row[n])
      let line = render[0]!(row[0])
      for (let c = 1; c < row.length; c++) line += `\t${render[c]!(row[c])}`
      this.text += `${line}\n`
      this.rows += 1
      if (++this.rowsInText === COPY_CHUNK_ROWS) this.cut()
    }
    if (columns.minTime && (!this.minTime || columns.minTime < this.minTime)) this.minTime = columns.minTime
    if (columns.maxTime && (!this.maxTime || columns.maxTime > this.maxTime)) this.maxTime = columns.maxTime
  }

  /** Closes the last chunk: call before the batch is written. */
  seal(): this {
    this.cut()
    return this
  }

  /** The distinct key prefixes of the batch, e.g. `[['bitcoin', 'h1'], ['ethereum', 'h1']]`. */
  prefixes(): string[][] {
    return [...this.seen.keys()].map((key) => key.split('\u0000'))
  }

  private cut(): void {
    if (this.rowsInText === 0) return
    // A Buffer, not the string: a concatenated string is a tree of pieces the garbage collector would walk
    // again and again while the batch waits for its turn.
    this.chunks.push(Buffer.from(this.text))
    this.text = ''
    this.rowsInText = 0
  }
}
