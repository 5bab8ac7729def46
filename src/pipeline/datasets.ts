/** Which snapshot datasets to fetch, and how: the selection `run` and `extract` share. */
import type { Answer, AssetSelection, CoincapClient, MarketFilters } from '../coincap/index.js'

/** The snapshot datasets of `run` and `extract`. */
export const SNAPSHOT_DATASETS = ['assets', 'exchanges', 'markets', 'rates'] as const
export type SnapshotDataset = (typeof SNAPSHOT_DATASETS)[number]

/** The default of `--datasets`: markets are large and costly, so they are opt-in. */
export const DEFAULT_DATASETS: readonly SnapshotDataset[] = ['assets', 'exchanges', 'rates']

/** What to fetch: datasets, which assets, and the markets' filters. */
export interface Selection {
  datasets: readonly SnapshotDataset[]
  assets: AssetSelection
  markets: MarketFilters & { limit?: number }
}

/** The answers of one dataset, page by page. */
export function fetchDataset(
  client: CoincapClient,
  dataset: SnapshotDataset,
  selection: Selection,
): AsyncGenerator<Answer> {
  switch (dataset) {
    case 'assets':
      return client.assets(selection.assets)
    case 'exchanges':
      return client.exchanges()
    case 'markets':
      return client.markets(selection.markets)
    case 'rates':
      return client.rates()
  }
}
