/** The CoinCap source: the only code of crypto-etl that speaks HTTP. */
export { CoincapClient } from './client.js'
export {
  type AssetSelection,
  assetIdProblem,
  IDS_PER_REQUEST,
  type SnapshotSelection,
  type UnknownIds,
} from './datasets.js'
export { COINCAP_CALLS_PER_MINUTE, type CoincapClientOptions, DEFAULT_API_URL, MAX_PAGE_SIZE } from './options.js'
export {
  type Asset,
  assetSchema,
  CLOCK_SKEW_MS,
  decimalString,
  type Exchange,
  epochMs,
  exchangeSchema,
  type HistoryPoint,
  historyPointSchema,
  idProblem,
  integerString,
  listEnvelopeSchema,
  type Market,
  MAX_STORABLE_MS,
  marketSchema,
  type PointBounds,
  type Rate,
  type RecordOf,
  type RejectedRecord,
  rateSchema,
  recordSchemas,
  type ValidationResult,
  validateRecords,
} from './schemas.js'
export { BYTES_PER_CREDIT, type CoincapStats, type DatasetStats, estimateCredits } from './stats.js'
export type { Answer, HistoryWindow, MarketFilters } from './types.js'
