/**
 * zod schemas of CoinCap v3 answers. The envelope is checked strictly (a failure is exit 65); each record
 * leniently: unknown fields pass through, and a record that fails is set apart with its reason while the
 * rest of the page goes on. Decimals stay strings from JSON to Postgres `numeric`: never a JS number.
 */
import { z } from 'zod'
import type { Dataset } from './types.js'

/**
 * A decimal as CoinCap writes it: a string such as `"80399.570000000006984919"` or `"-3.7e-8"`. Bounded to
 * what Postgres `numeric` accepts (an exponent of at most three digits), so a wild value is a rejected
 * record rather than a failed load.
 */
const DECIMAL = /^-?\d{1,1000}(\.\d{1,1000})?([eE][-+]?\d{1,3})?$/

export const decimalString = z.string().regex(DECIMAL, 'expected a decimal string')

/** Text Postgres can store: anything but the NUL character. */
export const text = z.string().regex(/^[^\0]*$/, 'contains a NUL character')

/** A non-empty id. */
const id = text.min(1)

/** An integer sent as a string, such as `rank` and `tradingPairs`. */
export const integerString = z.string().regex(/^-?\d+$/, 'expected an integer string')

/** The latest time a JavaScript Date can hold (year 275760); Postgres goes a little further. */
export const MAX_EPOCH_MS = 8_640_000_000_000_000

/** A time in Unix ms. */
export const epochMs = z.number().int().nonnegative().max(MAX_EPOCH_MS)

/** The `{data, timestamp}` envelope of every list answer. Extra top-level keys are tolerated. */
export const listEnvelopeSchema = z.object({ data: z.array(z.unknown()), timestamp: epochMs })

export const assetSchema = z.looseObject({
  id,
  rank: integerString,
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
  rank: integerString,
  percentTotalVolume: decimalString.nullable(),
  volumeUsd: decimalString.nullable(),
  tradingPairs: integerString,
  socket: z.boolean().nullable(),
  exchangeUrl: text,
  // 0 for a dead exchange.
  updated: epochMs,
})

export const marketSchema = z.looseObject({
  exchangeId: id,
  rank: integerString,
  baseSymbol: text,
  baseId: id,
  quoteSymbol: text,
  quoteId: id,
  priceQuote: decimalString,
  priceUsd: decimalString,
  volumeUsd24Hr: decimalString,
  percentExchangeVolume: decimalString.nullable(),
  tradesCount24Hr: integerString.nullable(),
  updated: epochMs,
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
export const recordSchemas = {
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
 * Validates the records of one answer's `data` (or of a landing line). Pure: never throws on bad records;
 * each one that fails is returned in `rejected` with its reason and the others in `valid`.
 */
export function validateRecords<D extends Dataset>(
  dataset: D,
  data: readonly unknown[],
): ValidationResult<RecordOf[D]> {
  const schema: z.ZodType = recordSchemas[dataset]
  const result: ValidationResult<RecordOf[D]> = { valid: [], rejected: [] }
  const plain = dataset === 'history' ? isPlainHistoryPoint : undefined
  for (const record of data) {
    if (plain?.(record)) {
      result.valid.push(record as RecordOf[D])
      continue
    }
    const parsed = schema.safeParse(record)
    if (parsed.success) result.valid.push(parsed.data as RecordOf[D])
    else result.rejected.push({ record, reason: describeIssues(parsed.error) })
  }
  return result
}
