/** The CoinCap v3 client: datasets as async generators of whole answers, with counts of what they cost. */
import type { Interval, SnapshotDataset } from '../catalogue/index.js'
import type { AssetSelection, Fetcher, SnapshotSelection } from './datasets.js'
import {
  allExchanges,
  allRates,
  assetHistory,
  assetsByIds,
  filteredMarkets,
  SNAPSHOT_REQUESTS,
  topAssets,
} from './datasets.js'
import { Transport } from './http.js'
import { type CoincapClientOptions, resolveOptions } from './options.js'
import { type CoincapStats, StatsCounter } from './stats.js'
import type { Answer, HistoryWindow, MarketFilters } from './types.js'

/**
 * A CoinCap v3 client. Construction makes no request and needs no key (a missing key is exit 77 at the
 * first request). Every method returns an async generator of {@link Answer}s, one per page, so memory
 * stays flat; errors are the typed errors of `src/core/errors.ts`:
 * ApiAuthError 77 (no key, 401, 403), UsageError 2 (400, 404, unknown ids, bad arguments),
 * ApiUnavailableError 69 (after retries, waits beyond the caps, a retired API version),
 * DataValidationError 65 (an answer without the `{data, timestamp}` envelope), ConfigError 78 (bad options).
 * Records are not validated here: `validateRecords` does that, once per answer, where they are mapped to rows.
 *
 * @example
 * const client = new CoincapClient({ apiKey: process.env.COINCAP_API_KEY, log })
 * for await (const answer of client.assets({ limit: 100 })) write(answer)
 * console.log(client.stats.credits)
 */
export class CoincapClient {
  readonly #stats = new StatsCounter()
  readonly #fetcher: Fetcher

  constructor(options: CoincapClientOptions = {}) {
    const resolved = resolveOptions(options)
    const transport = new Transport(resolved, this.#stats)
    this.#fetcher = { get: (spec) => transport.get(spec), pageSize: resolved.pageSize, log: resolved.log }
  }

  /** Counts so far: requests (every attempt), bytes, estimated credits, retries, time waited; per dataset too. */
  get stats(): CoincapStats {
    return this.#stats.snapshot()
  }

  /**
   * `{limit: N}`: the top N by rank, in pages of up to `pageSize` (2,500 = limit 2000 offset 0, then
   * limit 500 offset 2000). `{ids}`: those assets, `ids=` in chunks of 100; ids CoinCap does not know are
   * a UsageError (or a warning with `unknownIds: 'warn'`).
   */
  assets(selection: AssetSelection): AsyncGenerator<Answer> {
    return 'ids' in selection
      ? assetsByIds(this.#fetcher, selection.ids, selection.unknownIds)
      : topAssets(this.#fetcher, selection.limit)
  }

  /** Every exchange, paged. */
  exchanges(): AsyncGenerator<Answer> {
    return allExchanges(this.#fetcher)
  }

  /** Markets matching the filters (all when none), paged; at most `limit` records when given. */
  markets(filters: MarketFilters & { limit?: number } = {}): AsyncGenerator<Answer> {
    const { limit, ...rest } = filters
    return filteredMarkets(this.#fetcher, rest, limit)
  }

  /** Every conversion rate (one answer). */
  rates(): AsyncGenerator<Answer> {
    return allRates(this.#fetcher)
  }

  /** The answers of one snapshot dataset, narrowed by `selection` (see {@link SNAPSHOT_REQUESTS}). */
  snapshot(dataset: SnapshotDataset, selection: SnapshotSelection): AsyncGenerator<Answer> {
    return SNAPSHOT_REQUESTS[dataset](this.#fetcher, selection)
  }

  /**
   * One asset's history at `interval` (one answer, carrying `asset`, `interval` and the window). Without a
   * window CoinCap sends its most recent points. An unknown asset is a UsageError naming it.
   */
  history(assetId: string, interval: Interval, window?: HistoryWindow): AsyncGenerator<Answer> {
    return assetHistory(this.#fetcher, assetId, interval, window)
  }
}
