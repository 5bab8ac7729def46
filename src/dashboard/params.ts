/**
 * The query parameters the dashboard's JSON endpoints take, checked before anything reaches the warehouse:
 * each endpoint names the parameters it reads, each is given once, and each has a known shape. Anything
 * else is a 400 naming the parameter. Values are only ever bound as SQL parameters further down.
 */
import { UsageError } from '../core/errors.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR

/** The chart's and movers' ranges, as the page offers them; `all` has no start. */
export const RANGES = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY, '1y': 365 * DAY, all: null } as const
export type RangeName = keyof typeof RANGES

export type ParamName = 'currency' | 'limit' | 'asset' | 'range'

export interface DashboardParams {
  currency?: string
  limit?: number
  asset?: string
  range?: RangeName
}

const MAX_LIMIT = 500
/** Long enough for any CoinCap id or currency symbol, short enough that no one sends a novel. */
const MAX_TEXT = 100

function text(name: string, value: string): string {
  if (value.length === 0 || value.length > MAX_TEXT) {
    throw new UsageError(`Parameter ${name} must be 1 to ${MAX_TEXT} characters.`)
  }
  // Control characters have no place in an id or a symbol (and would make log lines lie).
  if (/\p{Cc}/u.test(value)) throw new UsageError(`Parameter ${name} holds a control character.`)
  return value
}

const parsers: Record<ParamName, (value: string) => DashboardParams[ParamName]> = {
  currency: (value) => text('currency', value),
  asset: (value) => text('asset', value),
  limit(value) {
    const n = /^\d{1,4}$/.test(value) ? Number(value) : Number.NaN
    if (!(n >= 1 && n <= MAX_LIMIT))
      throw new UsageError(`Parameter limit must be a whole number from 1 to ${MAX_LIMIT}.`)
    return n
  },
  range(value) {
    if (!Object.hasOwn(RANGES, value)) {
      throw new UsageError(`Parameter range must be one of ${Object.keys(RANGES).join(', ')}.`)
    }
    return value as RangeName
  },
}

/**
 * Reads the parameters `allowed` from a request's query string.
 * @throws UsageError (a 400) for a parameter not allowed, given twice, or of the wrong shape.
 */
export function parseParams(query: URLSearchParams, allowed: readonly ParamName[]): DashboardParams {
  const out: Record<string, unknown> = {}
  for (const name of new Set(query.keys())) {
    if (!(allowed as readonly string[]).includes(name)) {
      const takes = allowed.length ? `it takes ${allowed.join(', ')}` : 'it takes none'
      throw new UsageError(`Unknown parameter '${name.slice(0, MAX_TEXT)}': ${takes}.`)
    }
    const values = query.getAll(name)
    if (values.length > 1) throw new UsageError(`Parameter ${name} is given ${values.length} times; give it once.`)
    out[name] = parsers[name as ParamName](values[0]!)
  }
  return out as DashboardParams
}

/** The start of a range ending at `now`; the epoch for `all`. */
export function rangeStart(range: RangeName, now: Date): Date {
  const ms = RANGES[range]
  return ms === null ? new Date(0) : new Date(now.getTime() - ms)
}
