/**
 * The datasets crypto-etl knows, one entry each: where CoinCap serves it and what identifies one of its
 * records; the warehouse table it lands in (columns, key, time column, partitions, the Citus shard column,
 * the dimension its records keep current); and, for the snapshot datasets of `run`, whether `run` fetches it
 * by default and what it typically costs. The CoinCap client, the mapping of records to rows, the loader,
 * prune, status, query and schedule all read this one table.
 */

/** A column the loader writes: its name and Postgres type. */
export type Column = readonly [name: string, type: string]

/** The facts every dataset has. */
export interface DatasetFacts {
  /** `snapshot`: a list fetched as it is now, each run; `history`: an asset's points over time, backfilled. */
  kind: 'snapshot' | 'history'
  /** The CoinCap path, relative to the API root (`{id}` stands for an asset id). */
  path: string
  /** Fields of a CoinCap record that identify it, e.g. to tell a record sent twice on two pages. */
  recordKey: readonly string[]
  /** The warehouse table of its rows. */
  table: string
  /** The columns the loader writes, in order. */
  columns: readonly Column[]
  /** The primary key: leading columns of {@link columns}, the time column last. */
  key: readonly string[]
  /** The time column: the partition key, what prune cuts on and status reads the age of. */
  timeColumn: 'observed_at' | 'ts'
  /** One partition per UTC day or month of {@link timeColumn}. */
  partition: 'day' | 'month'
  /** The column Citus shards the table by (entities of one id live on one worker). */
  shardColumn: string
  /**
   * The dimension table the records keep current, if any: one row per entity, keyed by its first column, the
   * other columns following the newest observation (plus `first_seen_at` and `last_seen_at`, kept by the loader).
   */
  dimension?: { table: string; columns: readonly Column[] }
}

/** What a snapshot dataset adds: its place in `run` and its typical size (for credits and disk estimates). */
export interface SnapshotFacts extends DatasetFacts {
  kind: 'snapshot'
  /** Fetched by `run` and `extract` without `--datasets` (markets are large and costly, so opt-in). */
  inDefaultRun: boolean
  /**
   * Typical size of one run: records and minified JSON bytes per record of CoinCap's answers, and bytes one
   * stored row takes (table, indexes and partitions). See `pipeline/costs.ts` and `pipeline/storage.ts`.
   */
  typical: { records: number; bytesPerRecord: number; storedBytesPerRow: number }
}

/** Every dataset, in the order commands list them. */
export const CATALOGUE = {
  assets: {
    kind: 'snapshot',
    path: 'assets',
    recordKey: ['id'],
    table: 'asset_snapshots',
    columns: [
      ['asset_id', 'text'],
      ['observed_at', 'timestamptz'],
      ['rank', 'int'],
      ['supply', 'numeric'],
      ['max_supply', 'numeric'],
      ['market_cap_usd', 'numeric'],
      ['volume_usd_24h', 'numeric'],
      ['price_usd', 'numeric'],
      ['change_percent_24h', 'numeric'],
      ['vwap_24h', 'numeric'],
      ['run_id', 'bigint'],
    ],
    key: ['asset_id', 'observed_at'],
    timeColumn: 'observed_at',
    partition: 'day',
    shardColumn: 'asset_id',
    dimension: {
      table: 'assets',
      columns: [
        ['asset_id', 'text'],
        ['symbol', 'text'],
        ['name', 'text'],
        ['explorer', 'text'],
        ['tokens', 'jsonb'],
      ],
    },
    inDefaultRun: true,
    typical: { records: 100, bytesPerRecord: 450, storedBytesPerRow: 231 },
  },
  exchanges: {
    kind: 'snapshot',
    path: 'exchanges',
    recordKey: ['exchangeId'],
    table: 'exchange_snapshots',
    columns: [
      ['exchange_id', 'text'],
      ['observed_at', 'timestamptz'],
      ['rank', 'int'],
      ['percent_total_volume', 'numeric'],
      ['volume_usd', 'numeric'],
      ['trading_pairs', 'int'],
      ['socket', 'boolean'],
      ['updated_at', 'timestamptz'],
      ['run_id', 'bigint'],
    ],
    key: ['exchange_id', 'observed_at'],
    timeColumn: 'observed_at',
    partition: 'day',
    shardColumn: 'exchange_id',
    dimension: {
      table: 'exchanges',
      columns: [
        ['exchange_id', 'text'],
        ['name', 'text'],
        ['exchange_url', 'text'],
      ],
    },
    inDefaultRun: true,
    typical: { records: 100, bytesPerRecord: 250, storedBytesPerRow: 278 },
  },
  markets: {
    kind: 'snapshot',
    path: 'markets',
    recordKey: ['exchangeId', 'baseId', 'quoteId'],
    table: 'market_snapshots',
    columns: [
      ['exchange_id', 'text'],
      ['base_id', 'text'],
      ['quote_id', 'text'],
      ['observed_at', 'timestamptz'],
      ['rank', 'int'],
      ['base_symbol', 'text'],
      ['quote_symbol', 'text'],
      ['price_quote', 'numeric'],
      ['price_usd', 'numeric'],
      ['volume_usd_24h', 'numeric'],
      ['percent_exchange_volume', 'numeric'],
      ['trades_count_24h', 'bigint'],
      ['updated_at', 'timestamptz'],
      ['run_id', 'bigint'],
    ],
    key: ['exchange_id', 'base_id', 'quote_id', 'observed_at'],
    timeColumn: 'observed_at',
    partition: 'day',
    // Co-located with the exchange: a market belongs to one.
    shardColumn: 'exchange_id',
    inDefaultRun: false,
    // Without a filter the number of markets is unknown (likely more than one page): 2,000 is a floor.
    typical: { records: 2000, bytesPerRecord: 323, storedBytesPerRow: 910 },
  },
  rates: {
    kind: 'snapshot',
    path: 'rates',
    recordKey: ['id'],
    table: 'rate_snapshots',
    columns: [
      ['rate_id', 'text'],
      ['observed_at', 'timestamptz'],
      ['symbol', 'text'],
      ['currency_symbol', 'text'],
      ['type', 'text'],
      ['rate_usd', 'numeric'],
      ['run_id', 'bigint'],
    ],
    key: ['rate_id', 'observed_at'],
    timeColumn: 'observed_at',
    partition: 'day',
    shardColumn: 'rate_id',
    inDefaultRun: true,
    // One answer of about 17,500 bytes (`/rates` is not paged).
    typical: { records: 162, bytesPerRecord: 108, storedBytesPerRow: 256 },
  },
  history: {
    kind: 'history',
    path: 'assets/{id}/history',
    recordKey: ['time'],
    table: 'asset_history',
    columns: [
      ['asset_id', 'text'],
      ['interval', 'text'],
      ['ts', 'timestamptz'],
      ['price_usd', 'numeric'],
      ['circulating_supply', 'numeric'],
      ['run_id', 'bigint'],
    ],
    key: ['asset_id', 'interval', 'ts'],
    timeColumn: 'ts',
    partition: 'month',
    shardColumn: 'asset_id',
  },
} as const satisfies Record<string, DatasetFacts | SnapshotFacts>

type Catalogue = typeof CATALOGUE

/** A dataset name; also the `dataset` of a landing line and of `etl_runs.datasets`. */
export type Dataset = keyof Catalogue

/** Every dataset name, in catalogue order. */
export const DATASETS = Object.keys(CATALOGUE) as Dataset[]

/** The snapshot datasets: those `run` and `extract` fetch. */
export type SnapshotDataset = { [D in Dataset]: Catalogue[D]['kind'] extends 'snapshot' ? D : never }[Dataset]

/** The snapshot datasets, in catalogue order. */
export const SNAPSHOT_DATASETS = DATASETS.filter((d): d is SnapshotDataset => CATALOGUE[d].kind === 'snapshot')

/** The default of `--datasets`: the snapshot datasets whose {@link SnapshotFacts.inDefaultRun} is set. */
export const DEFAULT_DATASETS: readonly SnapshotDataset[] = SNAPSHOT_DATASETS.filter((d) => CATALOGUE[d].inDefaultRun)

/** The columns of a dataset's table, as the catalogue spells them (a tuple, so rows can be typed to its width). */
export type ColumnsOf<D extends Dataset> = Catalogue[D]['columns']

/** A warehouse table that holds a dataset's rows (each is range-partitioned on its time column). */
export type DatasetTable = Catalogue[Dataset]['table']

/** A table of snapshot rows (each has `observed_at`, indexed newest first). */
export type SnapshotTable = Catalogue[SnapshotDataset]['table']

/** The dataset whose rows `table` holds, if any. */
export function datasetOfTable(table: string): Dataset | undefined {
  return DATASETS.find((d) => CATALOGUE[d].table === table)
}
