/**
 * Estimated disk space of scheduled runs, from the catalogue's bytes per stored row (table, indexes and
 * partitions). They were measured on a PostgreSQL 15 warehouse after 40 `run --demo` runs: 4,000 asset,
 * 560 exchange and 640 rate rows took 925,696, 155,648 and 163,840 bytes (`pg_total_relation_size` over
 * the partitions). Markets: 90 rows of 5 `run --demo --datasets markets` took 81,920 bytes, mostly page
 * overhead: an upper bound.
 */
import { CATALOGUE, type SnapshotDataset } from '../catalogue/index.js'
import { type RunSelection, recordsPerRun } from './costs.js'

/** Estimated bytes one run of `datasets` adds to the warehouse. */
export function bytesPerRun(datasets: readonly SnapshotDataset[], selection: RunSelection = {}): number {
  return datasets.reduce((sum, d) => sum + recordsPerRun(d, selection) * CATALOGUE[d].typical.storedBytesPerRow, 0)
}

const DAY_MS = 86_400_000

/** Bytes a day of runs costing `perRun` bytes, one every `everyMs`. */
export function bytesPerDay(perRun: number, everyMs: number): number {
  return Math.round(perRun * Math.floor(DAY_MS / everyMs))
}

/** How long `prune` keeps in the line `schedule` suggests, in days. */
export const SUGGESTED_RETENTION_DAYS = 30
