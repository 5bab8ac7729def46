/** The dataset-selection flags `run` and `extract` share (`docs/cli.md`, `run`). */
import { Flags } from '@oclif/core'
import { assetIdsFlag, listFlag, MAX_COUNT } from './flags.js'
import { DEFAULT_DATASETS, SNAPSHOT_DATASETS, type SnapshotDataset } from '../catalogue/index.js'
import type { Selection } from '../pipeline/datasets.js'

export const selectionFlags = {
  datasets: listFlag(SNAPSHOT_DATASETS)({
    summary: `Datasets to fetch, comma-separated: ${SNAPSHOT_DATASETS.join(', ')} (default ${DEFAULT_DATASETS.join(',')}).`,
  }),
  assets: assetIdsFlag()({
    summary: 'Only these asset ids, e.g. bitcoin,ethereum (instead of the top --limit).',
    exclusive: ['limit'],
  }),
  limit: Flags.integer({ summary: 'Top N assets by rank (default 100).', min: 1, max: 100_000 }),
  'markets-exchange': Flags.string({ summary: 'Markets of this exchange id only, e.g. binance.' }),
  'markets-base': Flags.string({ summary: 'Markets of this base asset id only, e.g. bitcoin.' }),
  'markets-quote': Flags.string({ summary: 'Markets of this quote asset id only, e.g. tether.' }),
  'markets-limit': Flags.integer({ summary: 'At most this many markets.', min: 1, max: MAX_COUNT }),
  demo: Flags.boolean({
    summary: 'Replay the bundled CoinCap answers from a local server: no key, no network, data labelled demo.',
  }),
}

interface SelectionFlagValues {
  datasets?: SnapshotDataset[]
  assets?: string[]
  limit?: number
  'markets-exchange'?: string
  'markets-base'?: string
  'markets-quote'?: string
  'markets-limit'?: number
}

/** The selection the flags describe. */
export function selectionFromFlags(flags: SelectionFlagValues): Selection {
  return {
    datasets: flags.datasets ?? DEFAULT_DATASETS,
    assets: flags.assets ? { ids: flags.assets } : { limit: flags.limit ?? 100 },
    markets: {
      exchangeId: flags['markets-exchange'],
      baseId: flags['markets-base'],
      quoteId: flags['markets-quote'],
      limit: flags['markets-limit'],
    },
  }
}
