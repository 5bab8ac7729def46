/**
 * Backfill windows, planned as pure arithmetic on Unix ms: no I/O. A window is half-open, `[start, end)`,
 * aligned to its interval's buckets (CoinCap's `time` is a bucket start on the epoch grid), so two
 * neighbouring windows never share a point.
 */
import { INTERVAL_MS, INTERVALS, type Interval } from '../catalogue/index.js'
import { estimateCredits } from '../coincap/stats.js'
import { UsageError } from '../core/errors.js'

/** A half-open time range `[start, end)` in Unix ms. */
export interface TimeRange {
  start: number
  end: number
}

/**
 * Minified JSON bytes of one history point, measured on `fixtures/coincap/history-bitcoin-h1.json`
 * (168 points in 15,625 bytes); the envelope adds about 40.
 */
const BYTES_PER_POINT = 93
const ENVELOPE_BYTES = 40

/** A missing edge this many buckets long (or 5% of the window, if more) makes a short answer suspicious. */
const SUSPICIOUS_EDGE_MIN = 3
const SUSPICIOUS_EDGE_SHARE = 0.05

const floorTo = (ms: number, step: number): number => Math.floor(ms / step) * step

/** ISO text of a time in ms, for messages. */
export const isoOf = (ms: number): string => new Date(ms).toISOString()

/**
 * The range of completed buckets between `from` and `to`: from the bucket holding `from` to the last bucket
 * that ended by `to` (clipped to `now`, since a bucket still running has no final point).
 * @throws UsageError when `from` is later than `to`.
 */
export function bucketRange(interval: Interval, from: Date, to: Date | undefined, now: number): TimeRange {
  const step = INTERVAL_MS[interval]
  const toMs = Math.min(to?.getTime() ?? now, now)
  if (from.getTime() > toMs) {
    const which = to && to.getTime() <= now ? `--to (${isoOf(toMs)})` : `now (${isoOf(now)})`
    throw new UsageError(`--from (${from.toISOString()}) is later than ${which}.`, 'Give a --from before --to.')
  }
  const start = floorTo(from.getTime(), step)
  return { start, end: Math.max(start, floorTo(toMs, step)) }
}

/**
 * The window size for `interval`: `requested` (rounded down to whole buckets) or `defaultMs`.
 * @throws UsageError when `requested` is shorter than one bucket.
 */
export function windowSize(interval: Interval, defaultMs: number, requested?: number): number {
  const step = INTERVAL_MS[interval]
  if (requested === undefined) return defaultMs
  if (requested < step) {
    throw new UsageError(
      `--window must be at least one ${interval} bucket (${step / 1000}s).`,
      `Intervals: ${INTERVALS.join(' ')}.`,
    )
  }
  return floorTo(requested, step)
}

/** The most windows one asset's range may be cut into (30 days of m1 in 1-minute windows is 43,200). */
const MAX_WINDOWS_PER_ASSET = 50_000

/**
 * Cuts `range` into windows of `windowMs` on a grid anchored at the Unix epoch, so the same range asked for
 * an hour later gives the same windows (bar the first and last, clipped to the range).
 */
export function gridWindows(range: TimeRange, windowMs: number): TimeRange[] {
  // Counted before any is made: a tiny --window over years would take minutes and gigabytes to plan.
  const count = Math.ceil((range.end - floorTo(range.start, windowMs)) / windowMs)
  if (count > MAX_WINDOWS_PER_ASSET) {
    throw new UsageError(
      `That range is ${count.toLocaleString('en-US')} windows per asset, more than ${MAX_WINDOWS_PER_ASSET.toLocaleString('en-US')}.`,
      'Give a larger --window (or none: the defaults are the largest CoinCap serves) or a shorter range.',
    )
  }
  const windows: TimeRange[] = []
  for (let start = range.start; start < range.end;) {
    const end = Math.min(floorTo(start, windowMs) + windowMs, range.end)
    windows.push({ start, end })
    start = end
  }
  return windows
}

/** The parts of `ranges` (sorted, disjoint) not covered by any of `covered`, in time order. */
export function subtract(ranges: readonly TimeRange[], covered: readonly TimeRange[]): TimeRange[] {
  const cuts = [...covered].sort((a, b) => a.start - b.start)
  const out: TimeRange[] = []
  for (const range of ranges) {
    let start = range.start
    for (const c of cuts) {
      if (c.end <= start) continue
      if (c.start >= range.end) break
      if (c.start > start) out.push({ start, end: c.start })
      start = Math.max(start, c.end)
      if (start >= range.end) break
    }
    if (start < range.end) out.push({ start, end: range.end })
  }
  return out
}

/** Pieces that fall in the same grid window become one window from the first piece's start to the last one's end. */
export function mergeWithinGrid(pieces: readonly TimeRange[], windowMs: number): TimeRange[] {
  const out: TimeRange[] = []
  for (const piece of pieces) {
    const last = out.at(-1)
    if (last && floorTo(last.start, windowMs) === floorTo(piece.start, windowMs)) last.end = piece.end
    else out.push({ ...piece })
  }
  return out
}

/** Buckets of `interval` in `range`: the points a complete answer has. */
export function expectedPoints(range: TimeRange, interval: Interval): number {
  return Math.max(0, Math.floor((range.end - range.start) / INTERVAL_MS[interval]))
}

/** Estimated credits of fetching `range` in one request: 1 + ceil(bytes / 2,500). */
export function estimateWindowCredits(range: TimeRange, interval: Interval): number {
  const points = expectedPoints(range, interval)
  return estimateCredits(points === 0 ? ENVELOPE_BYTES : ENVELOPE_BYTES + points * BYTES_PER_POINT)
}

/** The two halves of `range`, split on a bucket boundary; undefined for a single bucket. */
export function halves(range: TimeRange, interval: Interval): [TimeRange, TimeRange] | undefined {
  const step = INTERVAL_MS[interval]
  const middle = range.start + floorTo((range.end - range.start) / 2, step)
  if (middle <= range.start || middle >= range.end) return undefined
  return [
    { start: range.start, end: middle },
    { start: middle, end: range.end },
  ]
}

/**
 * Whether an answer of `points` points looks cut by a cap rather than by holes at the source: a multiple of
 * 100, or a power of two from 64 (what APIs cap answers at).
 */
export function isRoundCount(points: number): boolean {
  return (points >= 100 && points % 100 === 0) || (points >= 64 && (points & (points - 1)) === 0)
}

/**
 * The edges of `range` an answer left out (before its first point, after its last) that suggest CoinCap cut
 * the answer short rather than a hole at the source: long ones, or any when the answer's count was
 * round (`capped`, see {@link isRoundCount}). `times` are sorted bucket starts.
 */
export function suspiciousEdges(
  times: readonly number[],
  range: TimeRange,
  interval: Interval,
  capped = false,
): TimeRange[] {
  const first = times[0]
  const last = times.at(-1)
  if (first === undefined || last === undefined) return []
  const step = INTERVAL_MS[interval]
  const long = Math.max(SUSPICIOUS_EDGE_MIN, Math.ceil(expectedPoints(range, interval) * SUSPICIOUS_EDGE_SHARE))
  const min = capped ? 1 : long
  const edges: TimeRange[] = []
  const head = { start: range.start, end: first }
  const tail = { start: last + step, end: range.end }
  for (const edge of [head, tail]) if (expectedPoints(edge, interval) >= min) edges.push(edge)
  return edges
}

/** Assumed time of one history request (CoinCap's latency is unknown to the plan): used for the duration estimate. */
const ASSUMED_REQUEST_MS = 500

/**
 * How long `requests` take at `requestsPerMinute` with `concurrency` in flight: the slower of the rate limit
 * and the requests' own time ({@link ASSUMED_REQUEST_MS} each).
 */
export function estimateDurationMs(requests: number, requestsPerMinute: number, concurrency: number): number {
  return Math.max((requests * 60_000) / requestsPerMinute, (requests * ASSUMED_REQUEST_MS) / concurrency)
}
