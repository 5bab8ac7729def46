/**
 * The history intervals: what CoinCap v3 accepts for `/assets/{id}/history`, how long a bucket of each is,
 * and how much history one request asks for by default. Finest first: that order is the one reports and
 * `query --report gaps` prefer.
 */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** The facts of one interval, in ms. */
export interface IntervalFacts {
  /** Length of one bucket (CoinCap's `time` is a bucket start on the epoch grid). */
  bucketMs: number
  /**
   * History asked for in one request by default. v3's real maxima are unknown: these are the limits a v2-era
   * client used (m1 1 day ... h12 365 days; d1 had none, 10 years here). Tune them, and treat a short or empty
   * answer as a hint.
   */
  defaultWindowMs: number
}

/** Every interval with its facts, finest first. */
export const INTERVAL_CATALOGUE = {
  m1: { bucketMs: MINUTE, defaultWindowMs: DAY },
  m5: { bucketMs: 5 * MINUTE, defaultWindowMs: 5 * DAY },
  m15: { bucketMs: 15 * MINUTE, defaultWindowMs: 7 * DAY },
  m30: { bucketMs: 30 * MINUTE, defaultWindowMs: 14 * DAY },
  h1: { bucketMs: HOUR, defaultWindowMs: 30 * DAY },
  h2: { bucketMs: 2 * HOUR, defaultWindowMs: 61 * DAY },
  h6: { bucketMs: 6 * HOUR, defaultWindowMs: 183 * DAY },
  h12: { bucketMs: 12 * HOUR, defaultWindowMs: 365 * DAY },
  d1: { bucketMs: DAY, defaultWindowMs: 3650 * DAY },
} as const satisfies Record<string, IntervalFacts>

/** A history interval CoinCap accepts, such as `h1`. */
export type Interval = keyof typeof INTERVAL_CATALOGUE

/** The interval names, finest first. */
export const INTERVALS = Object.keys(INTERVAL_CATALOGUE) as Interval[]

/** Whether `value` is a history interval CoinCap accepts. */
export function isInterval(value: string): value is Interval {
  return Object.hasOwn(INTERVAL_CATALOGUE, value)
}

const facts = <K extends keyof IntervalFacts>(key: K) =>
  Object.fromEntries(INTERVALS.map((i) => [i, INTERVAL_CATALOGUE[i][key]])) as Readonly<Record<Interval, number>>

/** The bucket length of each interval, in ms. */
export const INTERVAL_MS = facts('bucketMs')

/** The default history window per request of each interval, in ms (see {@link IntervalFacts.defaultWindowMs}). */
export const DEFAULT_HISTORY_WINDOW_MS = facts('defaultWindowMs')
