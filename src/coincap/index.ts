/** The CoinCap source: the only code of crypto-etl that speaks HTTP. */
export { CoincapClient } from './client.js'
export { IDS_PER_REQUEST, type SnapshotSelection } from './datasets.js'
export { type CoincapClientOptions } from './options.js'
export {
  type Asset,
  CLOCK_SKEW_MS,
  type Exchange,
  type HistoryPoint,
  historyPointSchema,
  idProblem,
  type Market,
  MAX_STORABLE_MS,
  type PointBounds,
  type Rate,
  type RecordOf,
  validateRecords,
} from './schemas.js'
export { type CoincapStats, estimateCredits } from './stats.js'
export type { Answer } from './types.js'
