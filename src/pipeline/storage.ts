/**
 * Estimated disk space of scheduled runs. Bytes per stored row (table, indexes and partitions) were measured
 * on a PostgreSQL 15 warehouse after 40 `run --demo` runs: 4,000 asset, 560 exchange and 640 rate rows took
 * 925,696, 155,648 and 163,840 bytes (`pg_total_relation_size` over the partitions). Markets: 90 rows of 5
 * `run --demo --datasets markets` took 81,920 bytes, mostly page overhead: an upper bound.
 */
import type { RunSelection } from './costs.js'
import { TYPICAL } from './costs.js'
import type { SnapshotDataset } from './datasets.js'

/** Measured bytes of one stored snapshot row, indexes included. */
export const BYTES_PER_ROW: Record<SnapshotDataset, number> = {
  assets: 231,
  exchanges: 278,
  markets: 910,
  rates: 256,
}

/** Rates in one answer: CoinCap's typical answer size over the bytes of one rate record. */
const TYPICAL_RATES = Math.round(TYPICAL.ratesBytes / 108)

/** Rows one run of `dataset` stores, from the same typical sizes as the credits. */
export function rowsPerRun(dataset: SnapshotDataset, selection: RunSelection = {}): number {
  switch (dataset) {
    case 'assets':
      return selection.assets?.length ?? selection.limit ?? TYPICAL.records.assets
    case 'exchanges':
      return TYPICAL.records.exchanges
    case 'markets':
      return selection.marketsLimit ?? TYPICAL.records.markets
    case 'rates':
      return TYPICAL_RATES
  }
}

/** Estimated bytes one run of `datasets` adds to the warehouse. */
export function bytesPerRun(datasets: readonly SnapshotDataset[], selection: RunSelection = {}): number {
  return datasets.reduce((sum, d) => sum + rowsPerRun(d, selection) * BYTES_PER_ROW[d], 0)
}

const DAY_MS = 86_400_000

/** Bytes a day of runs costing `perRun` bytes, one every `everyMs`. */
export function bytesPerDay(perRun: number, everyMs: number): number {
  return Math.round(perRun * Math.floor(DAY_MS / everyMs))
}

/** How long `prune` keeps in the line `schedule` suggests, in days. */
export const SUGGESTED_RETENTION_DAYS = 30
