/**
 * Rows as the warehouse takes them: column by column, cells that Postgres casts from text. The records of a
 * CoinCap answer are validated and mapped to these once, before the warehouse sees them (`pipeline/mapping.ts`);
 * nothing here knows the source.
 */
import type { Dataset } from '../../catalogue/index.js'

/** One cell: text, a number, a boolean or null (Postgres casts its text to the column's type). */
export type Cell = string | number | boolean | null

/** Rows of one table, column by column (the shape `unnest` and COPY both want). */
export interface Columns {
  table: string
  names: readonly string[]
  /** Postgres type of each column, for `unnest($n::type[])`. */
  types: readonly string[]
  values: Cell[][]
  /** Earliest and latest partition-key time of the rows, for partition creation. */
  minTime?: Date
  maxTime?: Date
}

/** One answer's rows, validated and mapped: everything the warehouse stores of it. */
export interface AnswerRows {
  dataset: Dataset
  /** The `etl_runs` row the rows belong to (null: none). */
  runId: number | null
  /** The answer's time as ISO text: `rejected_records.observed_at` and the dimension's `last_seen_at`. */
  observedAt: string
  /** Rows of the dataset's table. */
  facts: Columns
  /** Rows of the dataset's dimension (keyed by its first column), if it keeps one. */
  dimension?: Columns
  /** Records that could not be stored, as they came, each with one reason (for `rejected_records`). */
  rejected: readonly { record: unknown; reason: string }[]
}

/** How deep a rejected record is kept; deeper parts are replaced by a marker (Postgres and JSON.stringify recurse). */
const MAX_REJECTED_DEPTH = 32

/**
 * The jsonb text of a rejected record, whatever it holds: NUL characters (which jsonb refuses) become
 * U+FFFD, and nesting beyond {@link MAX_REJECTED_DEPTH} levels becomes the string `"<nested too deeply>"`.
 */
export function rejectedRecordJson(record: unknown): string {
  return JSON.stringify(storable(record, 0)) ?? 'null'
}

function storable(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replaceAll('\0', '\uFFFD')
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_REJECTED_DEPTH) return '<nested too deeply>'
  if (Array.isArray(value)) return value.map((v) => storable(v, depth + 1))
  const copy: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(value)) {
    // defineProperty, not assignment: a "__proto__" key stays a key.
    Object.defineProperty(copy, key.replaceAll('\0', '\uFFFD'), {
      value: storable(v, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return copy
}
