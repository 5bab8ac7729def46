/** Which snapshot datasets to fetch, and how: the selection `run` and `extract` share. */
import type { SnapshotDataset } from '../catalogue/index.js'
import type { SnapshotSelection } from '../coincap/index.js'

/** What to fetch: datasets, which assets, and the markets' filters. */
export interface Selection extends SnapshotSelection {
  datasets: readonly SnapshotDataset[]
}
