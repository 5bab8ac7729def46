/** The CoinCap datasets crypto-etl extracts; also the `dataset` of a landing line. */
export const DATASETS = ['assets', 'exchanges', 'markets', 'rates', 'history'] as const
export type Dataset = (typeof DATASETS)[number]

/** The history intervals CoinCap v3 accepts. */
export const INTERVALS = ['m1', 'm5', 'm15', 'm30', 'h1', 'h2', 'h6', 'h12', 'd1'] as const
export type Interval = (typeof INTERVALS)[number]

/**
 * One CoinCap answer (one page), as the client yields it and as `extract` writes it: one landing line
 * of `docs/cli.md`. `data` is the answer's array kept whole (records are not transformed or filtered) and
 * `timestamp` is the envelope's server time in ms (it becomes `observed_at`). `asset`, `interval`,
 * `start` and `end` are set for `history` only (`start`/`end` when a window was asked for).
 */
export interface Answer {
  dataset: Dataset
  asset?: string
  interval?: string
  start?: number
  end?: number
  timestamp: number
  data: unknown[]
}

/** Filters of `/markets`, passed to CoinCap as they are. */
export interface MarketFilters {
  exchangeId?: string
  baseId?: string
  baseSymbol?: string
  quoteId?: string
  quoteSymbol?: string
  /** Matches the base or the quote asset. */
  assetId?: string
  /** Matches the base or the quote symbol. */
  assetSymbol?: string
}

/** A history window in Unix ms; CoinCap wants both ends or neither. */
export interface HistoryWindow {
  start: number
  end: number
}

/** Whether `value` is a history interval CoinCap accepts. */
export function isInterval(value: string): value is Interval {
  return (INTERVALS as readonly string[]).includes(value)
}

const DAY_MS = 86_400_000

/**
 * Default history window per request for each interval, in ms. v3's real maxima are unknown: these are the
 * limits a v2-era client used (m1 1 day ... h12 365 days; d1 had none, 10 years here). Tune them, and treat a
 * short or empty answer as a hint.
 */
export const DEFAULT_HISTORY_WINDOW_MS: Readonly<Record<Interval, number>> = {
  m1: DAY_MS,
  m5: 5 * DAY_MS,
  m15: 7 * DAY_MS,
  m30: 14 * DAY_MS,
  h1: 30 * DAY_MS,
  h2: 61 * DAY_MS,
  h6: 183 * DAY_MS,
  h12: 365 * DAY_MS,
  d1: 3650 * DAY_MS,
}
