/**
 * zod schemas of CoinCap v3 answers. The envelope is checked strictly (a failure is exit 65); each record
 * leniently: unknown fields pass through, and a record that fails is set apart with its reason while the
 * rest of the page goes on. Decimals stay strings from JSON to Postgres `numeric`: never a JS number.
 */
import { z } from 'zod'
import type { Dataset } from '../catalogue/index.js'

/**
 * A decimal as CoinCap writes it: a string such as `"80399.570000000006984919"` or `"-3.7e-8"`. Bounded to
 * what Postgres `numeric` accepts (an exponent of at most three digits), so a wild value is a rejected
 * record rather than a failed load.
 */
const DECIMAL = /^-?\d{1,1000}(\.\d{1,1000})?([eE][-+]?\d{1,3})?$/

const decimalString = z.string().regex(DECIMAL, 'expected a decimal string')

/** Text Postgres can store: anything but the NUL character. */
export const text = z.string().regex(/^[^\0]*$/, 'contains a NUL character')

/**
 * The longest id kept, in characters. Ids are keys of btree indexes, whose entries must fit in 2,704 bytes,
 * and a market's key holds three of them (at most 4 bytes a character).
 */
const MAX_ID_LENGTH = 200

/** Why `id` cannot be a CoinCap id, if it cannot: ids are compared as CoinCap writes them, lowercase slugs. */
export function idProblem(id: string): string | undefined {
  if (id.length === 0) return 'empty id'
  if (id.length > MAX_ID_LENGTH) return `id longer than ${MAX_ID_LENGTH} characters`
  if (id.includes('\0')) return 'contains a NUL character'
  // 'Bitcoin' next to 'bitcoin' would be a second asset: CoinCap's ids are lowercase, so this one is not one.
  if (id !== id.toLowerCase()) return `id '${id}' has capital letters (CoinCap ids are lowercase)`
  return undefined
}

/** A CoinCap id: see {@link idProblem}. */
const id = z.string().superRefine((value, ctx) => {
  const problem = idProblem(value)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})

/** An integer sent as a string, such as `rank` and `tradingPairs`. */
const integerString = z.string().regex(/^-?\d+$/, 'expected an integer string')

/** The largest values of Postgres' `int` and `bigint`. */
const INT4_MAX = 2_147_483_647n
const INT8_MAX = 9_223_372_036_854_775_807n

/** An integer string within `[min, max]`: what the column it goes to can hold. */
function boundedInteger(min: bigint, max: bigint) {
  return integerString.refine((value) => {
    if (!/^-?\d+$/.test(value)) return true // the pattern above says why
    const n = BigInt(value)
    return n >= min && n <= max
  }, `expected an integer from ${min} to ${max}`)
}

/** The latest time a JavaScript Date can hold (year 275760); Postgres goes a little further. */
const MAX_EPOCH_MS = 8_640_000_000_000_000

/** The latest time stored: the end of year 9999 (a later ISO date has a sign and six digits Postgres cannot read). */
export const MAX_STORABLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** A time in Unix ms. */
export const epochMs = z.number().int().nonnegative().max(MAX_EPOCH_MS)

/** A time in Unix ms that a `timestamptz` column can take. */
const storableMs = z.number().int().nonnegative().max(MAX_STORABLE_MS, 'expected a time before the year 10000')

/** The `{data, timestamp}` envelope of every list answer. Extra top-level keys are tolerated. */
export const listEnvelopeSchema = z.object({ data: z.array(z.unknown()), timestamp: epochMs })

export const assetSchema = z.looseObject({
  id,
  rank: boundedInteger(1n, INT4_MAX),
  symbol: text,
  name: text,
  supply: decimalString,
  maxSupply: decimalString.nullable(),
  marketCapUsd: decimalString,
  volumeUsd24Hr: decimalString,
  priceUsd: decimalString,
  changePercent24Hr: decimalString,
  vwap24Hr: decimalString.nullable(),
  explorer: text.nullish(),
  // New in v3: {chainId: [address]}, {} when none.
  tokens: z.record(text, z.array(text)).optional(),
})

export const exchangeSchema = z.looseObject({
  exchangeId: id,
  name: text,
  rank: boundedInteger(1n, INT4_MAX),
  percentTotalVolume: decimalString.nullable(),
  volumeUsd: decimalString.nullable(),
  tradingPairs: boundedInteger(0n, INT4_MAX),
  socket: z.boolean().nullable(),
  exchangeUrl: text,
  // 0 for a dead exchange.
  updated: storableMs,
})

export const marketSchema = z.looseObject({
  exchangeId: id,
  rank: boundedInteger(1n, INT4_MAX),
  baseSymbol: text,
  baseId: id,
  quoteSymbol: text,
  quoteId: id,
  priceQuote: decimalString,
  priceUsd: decimalString,
  volumeUsd24Hr: decimalString,
  percentExchangeVolume: decimalString.nullable(),
  tradesCount24Hr: boundedInteger(0n, INT8_MAX).nullable(),
  updated: storableMs,
})

export const rateSchema = z.looseObject({
  id,
  symbol: text,
  currencySymbol: text.nullable(),
  type: z.enum(['fiat', 'crypto']),
  rateUsd: decimalString,
})

export const historyPointSchema = z.looseObject({
  priceUsd: decimalString,
  time: epochMs,
  date: text,
  // Seen in v2 intraday answers; in v3 unknown.
  circulatingSupply: decimalString.nullish(),
})

/**
 * Whether a history point plainly passes {@link historyPointSchema}, checked by hand: a backfill or a
 * landing file carries millions of points, and zod's general machinery was a tenth of a 1M-row load's
 * time. Anything this does not accept still goes through zod, which has the last word and the reason.
 */
function isPlainHistoryPoint(record: unknown): record is HistoryPoint {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return false
  const { priceUsd, time, date, circulatingSupply } = record as Record<string, unknown>
  return (
    typeof priceUsd === 'string' &&
    DECIMAL.test(priceUsd) &&
    typeof time === 'number' &&
    Number.isInteger(time) &&
    time >= 0 &&
    time <= MAX_EPOCH_MS &&
    typeof date === 'string' &&
    !date.includes('\0') &&
    (circulatingSupply === undefined ||
      circulatingSupply === null ||
      (typeof circulatingSupply === 'string' && DECIMAL.test(circulatingSupply)))
  )
}

/** An asset of `/assets` (camelCase API names; unknown fields kept). */
export type Asset = z.infer<typeof assetSchema>
/** An exchange of `/exchanges`. */
export type Exchange = z.infer<typeof exchangeSchema>
/** A market of `/markets`. */
export type Market = z.infer<typeof marketSchema>
/** A conversion rate of `/rates`. */
export type Rate = z.infer<typeof rateSchema>
/** A point of `/assets/{id}/history`. */
export type HistoryPoint = z.infer<typeof historyPointSchema>

/** The record type of each dataset. */
export interface RecordOf {
  assets: Asset
  exchanges: Exchange
  markets: Market
  rates: Rate
  history: HistoryPoint
}

/** The record schema of each dataset. */
const recordSchemas = {
  assets: assetSchema,
  exchanges: exchangeSchema,
  markets: marketSchema,
  rates: rateSchema,
  history: historyPointSchema,
} as const satisfies Record<Dataset, z.ZodType>

/** A record that failed validation, kept as it came, with a one-line reason (for `rejected_records`). */
export interface RejectedRecord {
  record: unknown
  reason: string
}

/** The outcome of {@link validateRecords}: records in their original order, split in two. */
export interface ValidationResult<T> {
  valid: T[]
  rejected: RejectedRecord[]
}

/** One line naming each failing field, e.g. `priceUsd: expected a decimal string; id: required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`).join('; ')
}

/**
 * Where history points may fall, in Unix ms, both ends included: the window asked for, and no later than
 * now plus a small clock skew. A point outside is rejected, never stored (it would be a row nobody asked
 * for, or a partition centuries ahead).
 */
export interface PointBounds {
  /** The window asked for (`end` as sent to CoinCap). */
  window?: { start: number; end: number }
  /** The latest time a point may have: now plus {@link CLOCK_SKEW_MS}. */
  latest: number
}

/** How far ahead of the local clock CoinCap's clock may be before a time is taken for a lie: 5 minutes. */
export const CLOCK_SKEW_MS = 5 * 60_000

const isoOf = (ms: number) => new Date(ms).toISOString()

/** Why a history point's time is out of `bounds`, if it is. */
function pointTimeProblem(time: number, bounds: PointBounds): string | undefined {
  const { window, latest } = bounds
  if (window && (time < window.start || time > window.end)) {
    return `time: ${isoOf(time)} is outside the window asked for (${isoOf(window.start)} to ${isoOf(window.end)})`
  }
  if (time > latest) return `time: ${isoOf(time)} is after now plus ${CLOCK_SKEW_MS / 60_000} minutes`
  return undefined
}

/**
 * Validates the records of one answer's `data` (or of a landing line). Pure: never throws on bad records;
 * each one that fails is returned in `rejected` with its reason and the others in `valid`. History points
 * outside `bounds` are rejected too.
 */
export function validateRecords<D extends Dataset>(
  dataset: D,
  data: readonly unknown[],
  bounds?: PointBounds,
): ValidationResult<RecordOf[D]> {
  const schema: z.ZodType = recordSchemas[dataset]
  const result: ValidationResult<RecordOf[D]> = { valid: [], rejected: [] }
  const plain = dataset === 'history' ? isPlainHistoryPoint : undefined
  const timeProblem =
    dataset === 'history' && bounds ? (r: unknown) => pointTimeProblem((r as HistoryPoint).time, bounds) : undefined
  for (const record of data) {
    let valid: unknown
    if (plain?.(record)) valid = record
    else {
      const parsed = schema.safeParse(record)
      if (!parsed.success) {
        result.rejected.push({ record, reason: describeIssues(parsed.error) })
        continue
      }
      valid = parsed.data
    }
    const problem = timeProblem?.(valid)
    if (problem) result.rejected.push({ record, reason: problem })
    else result.valid.push(valid as RecordOf[D])
  }
  return result
}
