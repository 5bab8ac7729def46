/** Counting of requests, bytes and estimated CoinCap credits. */
import type { Dataset } from '../catalogue/index.js'

/** CoinCap bills 1 credit per call plus 1 per 2,500 bytes of data. */
const BYTES_PER_CREDIT = 2500

/** Estimated credits of one call whose answer has `bytes` bytes: `1 + ceil(bytes / 2500)`. */
export function estimateCredits(bytes: number): number {
  return 1 + Math.ceil(bytes / BYTES_PER_CREDIT)
}

/**
 * Whether CoinCap bills an answer of this HTTP status. Only answers with data are counted: a rejected key
 * (401, 403), a rate limit (429) or a server error carries no data, and counting it would overstate the bill.
 */
export function isBilled(status: number): boolean {
  return status >= 200 && status < 300
}

/** Counts of one dataset. */
export interface DatasetStats {
  /** Every attempt, retries included. */
  requests: number
  /** Response body bytes (after decompression) of every answered attempt. */
  bytes: number
  /** Estimated credits: {@link estimateCredits} of every billed answer (see {@link isBilled}); 0 for demo answers. */
  credits: number
}

/** What a client has done so far. */
export interface CoincapStats extends DatasetStats {
  /** Attempts that were retried (each one also counted in `requests`). */
  retries: number
  /** Total time spent waiting between attempts, in ms. */
  waitedMs: number
  byDataset: Partial<Record<Dataset, DatasetStats>>
}

/** The mutable counter behind `client.stats`. */
export class StatsCounter {
  #stats: CoincapStats = { requests: 0, bytes: 0, credits: 0, retries: 0, waitedMs: 0, byDataset: {} }

  /**
   * Counts one attempt; `bytes` is undefined when no answer came (timeout, reset). Only a `billed` answer
   * costs credits: see {@link isBilled}.
   */
  attempt(dataset: Dataset, bytes: number | undefined, billed = bytes !== undefined): void {
    const perDataset = this.#stats.byDataset[dataset] ?? { requests: 0, bytes: 0, credits: 0 }
    this.#stats.byDataset[dataset] = perDataset
    for (const counts of [this.#stats, perDataset]) {
      counts.requests += 1
      if (bytes === undefined) continue
      counts.bytes += bytes
      if (billed) counts.credits += estimateCredits(bytes)
    }
  }

  retry(waitedMs: number): void {
    this.#stats.retries += 1
    this.#stats.waitedMs += waitedMs
  }

  /** A copy, safe to keep. */
  snapshot(): CoincapStats {
    const byDataset: CoincapStats['byDataset'] = {}
    for (const [dataset, counts] of Object.entries(this.#stats.byDataset)) byDataset[dataset as Dataset] = { ...counts }
    return { ...this.#stats, byDataset }
  }
}
