/** The catalogue: the facts of every dataset and history interval, in one place. Imports nothing of crypto-etl. */
export {
  CATALOGUE,
  type Column,
  type ColumnsOf,
  DATASETS,
  type Dataset,
  type DatasetFacts,
  type DatasetTable,
  datasetOfTable,
  DEFAULT_DATASETS,
  SNAPSHOT_DATASETS,
  type SnapshotDataset,
  type SnapshotTable,
} from './datasets.js'
export { DEFAULT_HISTORY_WINDOW_MS, INTERVAL_MS, INTERVALS, type Interval, isInterval } from './intervals.js'
