/** How each dataset is fetched: which requests, in which pages, yielding one {@link Answer} per answer. */
import {
  CATALOGUE,
  type Dataset,
  INTERVALS,
  type Interval,
  isInterval,
  type SnapshotDataset,
} from '../catalogue/index.js'
import { UsageError } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import type { RequestSpec } from './http.js'
import type { ListEnvelope } from './responses.js'
import type { Answer, HistoryWindow, MarketFilters } from './types.js'

/** What the dataset functions need from the client. */
export interface Fetcher {
  get: (spec: RequestSpec) => Promise<ListEnvelope>
  pageSize: number
  log: Logger
}

/** Ids per `/assets?ids=` request; the URL stays short of what proxies reject. */
export const IDS_PER_REQUEST = 100
const MAX_IDS_CHARS = 1500

const quoteList = (ids: readonly string[]) => ids.map((id) => `'${id}'`).join(', ')

function answer(dataset: Dataset, envelope: ListEnvelope): Answer {
  return { dataset, timestamp: envelope.timestamp, data: envelope.data }
}

function checkCount(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`${what} must be a whole number of at least 1 (got ${value}).`)
  }
  return value
}

/** The identity of a record of a paged dataset, for telling a record sent twice from a new one. */
type RecordKey = (record: unknown) => string | undefined

function field(record: unknown, name: string): string | undefined {
  const value = typeof record === 'object' && record !== null ? (record as Record<string, unknown>)[name] : undefined
  return typeof value === 'string' ? value : undefined
}

/** The identity of a record of `dataset`: its catalogue key fields, joined; undefined when one is missing. */
function recordKeyOf(dataset: Dataset): RecordKey {
  const fields = CATALOGUE[dataset].recordKey
  return (record) => {
    const parts = fields.map((name) => field(record, name))
    return parts.every((p) => p !== undefined) ? parts.join('\u0000') : undefined
  }
}

/** The request of a paged snapshot dataset at its catalogue path. */
const specOf = (dataset: SnapshotDataset, spec: Partial<RequestSpec> = {}): RequestSpec => ({
  dataset,
  path: CATALOGUE[dataset].path,
  ...spec,
})

/** Records asked again at the head of each page after the first (at most a quarter of a page). */
const PAGE_OVERLAP = 50

/**
 * Pages through a ranked list (always sending `limit`, whose documented defaults disagree) until a page is
 * shorter than asked or `max` records have come. Ranks shift between two requests, so each page after the
 * first starts {@link PAGE_OVERLAP} places early: a record that moved up across the boundary is still
 * caught, and one sent twice is dropped from the later page. When the list moved by the whole overlap
 * (nothing of it was seen before), records may be missing: said in a warning. Empty pages after the first
 * are not yielded.
 */
async function* paged(
  fetcher: Fetcher,
  spec: RequestSpec,
  keyOf: RecordKey,
  max = Number.POSITIVE_INFINITY,
): AsyncGenerator<Answer> {
  // Keys of this page and the one before: a record that moved further than a page between two requests is
  // beyond the overlap anyway, and a set of every key of 300,000 markets would hold tens of MB to the end.
  let seen = new Set<string>()
  let seenBefore = new Set<string>()
  const overlapSize = Math.min(PAGE_OVERLAP, Math.floor(fetcher.pageSize / 4))
  for (let read = 0, kept = 0; kept < max;) {
    const overlap = read > 0 ? overlapSize : 0
    const offset = read - overlap
    const limit = Math.min(fetcher.pageSize, max - kept + overlap)
    const envelope = await fetcher.get({ ...spec, query: { ...spec.query, limit, offset } })
    const fresh: unknown[] = []
    let repeated = 0
    for (const record of envelope.data) {
      const key = keyOf(record)
      if (key !== undefined && (seen.has(key) || seenBefore.has(key))) repeated += 1
      else if (fresh.length < max - kept) {
        if (key !== undefined) seen.add(key)
        fresh.push(record)
      }
    }
    if (overlap > 0 && envelope.data.length > 0 && repeated === 0) {
      fetcher.log.warn(
        `${spec.dataset}: the list moved by ${overlap} places or more between two pages (offset ${offset}): some records may be missing from this snapshot.`,
        { dataset: spec.dataset, offset },
      )
    }
    seenBefore = seen
    seen = new Set()
    if (read === 0 || fresh.length > 0) yield answer(spec.dataset, { ...envelope, data: fresh })
    kept += fresh.length
    if (envelope.data.length < limit) return
    read = offset + envelope.data.length
  }
}

/** The top `limit` assets by rank. */
export async function* topAssets(fetcher: Fetcher, limit: number): AsyncGenerator<Answer> {
  yield* paged(fetcher, specOf('assets'), recordKeyOf('assets'), checkCount('The number of assets', limit))
}

/**
 * What to do when CoinCap does not know ids that were asked for: fail (`error`), warn and go on (`warn`),
 * or hand them to a function and go on, so a caller can report them in its result.
 */
export type UnknownIds = 'error' | 'warn' | ((ids: readonly string[]) => void)

function chunkIds(ids: readonly string[]): string[][] {
  const chunks: string[][] = []
  let chunk: string[] = []
  let chars = 0
  for (const id of ids) {
    if (chunk.length === IDS_PER_REQUEST || (chunk.length > 0 && chars + id.length + 1 > MAX_IDS_CHARS)) {
      chunks.push(chunk)
      chunk = []
      chars = 0
    }
    chunk.push(id)
    chars += id.length + 1
  }
  if (chunk.length > 0) chunks.push(chunk)
  return chunks
}

function idOf(record: unknown): string | undefined {
  const id = typeof record === 'object' && record !== null ? (record as { id?: unknown }).id : undefined
  return typeof id === 'string' ? id.toLowerCase() : undefined
}

/**
 * The assets with these ids (slugs), `ids=` in chunks of at most {@link IDS_PER_REQUEST}. Whether CoinCap
 * answers an unknown id with 404 or by leaving it out is unknown, so both end the same way: a
 * {@link UsageError} "CoinCap does not know asset 'foo'" (exit 2) before that chunk is yielded, or, when
 * `unknownIds` is not `error`, the known ids' answers (a 404 chunk is asked again in halves to find them)
 * and the unknown ids warned about or handed over.
 */
export async function* assetsByIds(
  fetcher: Fetcher,
  ids: readonly string[],
  unknownIds: UnknownIds = 'error',
): AsyncGenerator<Answer> {
  const unique = [...new Set(ids.map((id) => id.trim()).filter(Boolean))]
  if (unique.length === 0) throw new UsageError('No asset ids given.')
  for (const chunk of chunkIds(unique)) yield* assetsOfChunk(fetcher, chunk, unknownIds)
}

async function* assetsOfChunk(fetcher: Fetcher, chunk: string[], unknownIds: UnknownIds): AsyncGenerator<Answer> {
  const notFound = (apiError: string | undefined) => {
    const named = chunk.find((id) => apiError?.toLowerCase() === `${id.toLowerCase()} not found`)
    return named || chunk.length === 1
      ? `CoinCap does not know asset '${named ?? chunk[0]}'.`
      : `CoinCap does not know one of the assets ${quoteList(chunk)} (${apiError ?? '404'}).`
  }
  const spec = specOf('assets', { notFound })
  let envelope: ListEnvelope
  try {
    envelope = await fetcher.get({ ...spec, query: { ids: chunk.join(','), limit: chunk.length } })
  } catch (error) {
    if (unknownIds === 'error' || !(error instanceof UsageError) || !error.message.startsWith('CoinCap does not know'))
      throw error
    if (chunk.length === 1) return reportUnknown(fetcher, chunk, unknownIds)
    // A 404 for the whole chunk: halves find the unknown ids in a few requests, and the known ones still load.
    const half = Math.ceil(chunk.length / 2)
    yield* assetsOfChunk(fetcher, chunk.slice(0, half), unknownIds)
    yield* assetsOfChunk(fetcher, chunk.slice(half), unknownIds)
    return
  }
  const found = new Set(envelope.data.map(idOf))
  const missing = chunk.filter((id) => !found.has(id.toLowerCase()))
  if (missing.length > 0) {
    if (unknownIds === 'error') {
      throw new UsageError(unknownMessage(missing), "CoinCap ids are slugs such as 'bitcoin', not symbols.")
    }
    reportUnknown(fetcher, missing, unknownIds)
  }
  yield answer('assets', envelope)
}

function unknownMessage(ids: readonly string[]): string {
  return `CoinCap does not know asset${ids.length > 1 ? 's' : ''} ${quoteList(ids)}.`
}

function reportUnknown(fetcher: Fetcher, ids: readonly string[], unknownIds: Exclude<UnknownIds, 'error'>): void {
  if (unknownIds === 'warn') fetcher.log.warn(unknownMessage(ids), { missing: ids.join(',') })
  else unknownIds(ids)
}

/** Every exchange. */
export async function* allExchanges(fetcher: Fetcher): AsyncGenerator<Answer> {
  yield* paged(fetcher, specOf('exchanges'), recordKeyOf('exchanges'))
}

/** Markets matching `filters`, at most `limit` of them (default: all). */
export async function* filteredMarkets(
  fetcher: Fetcher,
  filters: MarketFilters,
  limit?: number,
): AsyncGenerator<Answer> {
  const query: Record<string, string> = {}
  for (const [key, value] of Object.entries(filters)) if (value) query[key] = value
  const described = Object.entries(query).map(([key, value]) => `${key} '${value}'`)
  const notFound = (apiError: string | undefined) =>
    `CoinCap does not know ${described.join(' or ') || 'these markets'} (${apiError ?? '404'}).`
  const max = limit === undefined ? undefined : checkCount('The number of markets', limit)
  yield* paged(fetcher, specOf('markets', { query, notFound }), recordKeyOf('markets'), max)
}

/** Every conversion rate, in one answer (`/rates` is not paged). */
export async function* allRates(fetcher: Fetcher): AsyncGenerator<Answer> {
  yield answer('rates', await fetcher.get(specOf('rates')))
}

/** One asset's history for `interval`, the most recent points or those of `window`: one answer. */
export async function* assetHistory(
  fetcher: Fetcher,
  assetId: string,
  interval: Interval,
  window?: HistoryWindow,
): AsyncGenerator<Answer> {
  if (!assetId.trim()) throw new UsageError('No asset id given for history.')
  const problem = assetIdProblem(assetId)
  if (problem) throw new UsageError(problem)
  if (!isInterval(interval)) {
    throw new UsageError(`Unknown history interval '${interval}'.`, `Use one of ${INTERVALS.join(' ')}.`)
  }
  if (window) {
    const { start, end } = window
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start >= end) {
      throw new UsageError(`Invalid history window ${start}..${end}: expected Unix ms with start before end.`)
    }
  }
  const envelope = await fetcher.get({
    dataset: 'history',
    path: CATALOGUE.history.path.replace('{id}', encodeURIComponent(assetId)),
    query: { interval, start: window?.start, end: window?.end },
    notFound: () => `CoinCap does not know asset '${assetId}'.`,
    timestampOptional: true,
  })
  yield {
    dataset: 'history',
    asset: assetId,
    interval,
    ...(window ? { start: window.start, end: window.end } : {}),
    timestamp: envelope.timestamp,
    data: envelope.data,
  }
}

/**
 * Why `id` cannot be an asset id, if it cannot: `.` and `..` survive encodeURIComponent and a URL resolves
 * them as path segments (`assets/../history` is GET /history); CoinCap's ids are lowercase, and a
 * capitalised one would be a second asset (its records are rejected).
 */
export function assetIdProblem(id: string): string | undefined {
  if (id === '.' || id === '..') return `'${id}' is not an asset id.`
  if (id !== id.toLowerCase()) return `'${id}' is not an asset id: CoinCap ids are lowercase ('${id.toLowerCase()}').`
  return undefined
}

/** Which assets: the top `limit` by rank, or these `ids` (slugs). */
export type AssetSelection = { limit: number } | { ids: readonly string[]; unknownIds?: UnknownIds }

/** What narrows the snapshot requests: which assets, and the markets' filters (and how many at most). */
export interface SnapshotSelection {
  assets: AssetSelection
  markets: MarketFilters & { limit?: number }
}

/** How each snapshot dataset is asked for, given the selection: one request definition per dataset. */
export const SNAPSHOT_REQUESTS: {
  readonly [D in SnapshotDataset]: (fetcher: Fetcher, selection: SnapshotSelection) => AsyncGenerator<Answer>
} = {
  assets: (fetcher, { assets }) =>
    'ids' in assets ? assetsByIds(fetcher, assets.ids, assets.unknownIds) : topAssets(fetcher, assets.limit),
  exchanges: (fetcher) => allExchanges(fetcher),
  markets: (fetcher, { markets: { limit, ...filters } }) => filteredMarkets(fetcher, filters, limit),
  rates: (fetcher) => allRates(fetcher),
}
