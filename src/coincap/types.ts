import type { Dataset } from '../catalogue/index.js'

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
