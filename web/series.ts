/**
 * Turns the rows of the history endpoint (snapshots and `asset_history` points, oldest first) into the
 * aligned columns uPlot draws: one x axis in Unix seconds, one series per source. A missing stretch is a
 * gap, not a line drawn across it: where two neighbours of a source are further apart than its step allows,
 * a null goes between them (uPlot breaks the line at null, and joins over undefined, which marks the x
 * values of the other sources). A long range comes thinned (`query history --points`), one stored point per
 * bucket: where a source fills its buckets one after the other, an empty bucket between two points is a gap.
 */
// The catalogue imports nothing: bundled into the page, it is the same list of intervals the CLI knows.
import { INTERVAL_MS, isInterval } from '../src/catalogue/intervals.js'

export interface HistoryRow {
  time: string
  price: string | null
  source: string
}

/** The buckets of a thinned history (`buckets` of the answer): `ms` long each, from `from`. */
export interface HistoryBuckets {
  from: string
  ms: number
}

export interface ChartSeries {
  label: string
  values: (number | null | undefined)[]
}

export interface ChartData {
  /** Unix seconds, ascending. */
  x: number[]
  series: ChartSeries[]
}

/** History points sit on a grid: one missing point is a gap. */
const GRID_SLACK = 1.5
/** Snapshots come when runs come, a little irregular: a gap is over 2.5 times their usual spacing. */
const SNAPSHOT_SLACK = 2.5

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

/** The longest spacing of a source's points that is not a gap, in seconds; undefined: no gap can be told. */
export function maxSpacing(source: string, times: number[]): number | undefined {
  const interval = /^history (\w+)$/.exec(source)?.[1]
  if (interval && isInterval(interval)) return (INTERVAL_MS[interval] / 1000) * GRID_SLACK
  const usual = median(times.slice(1).map((t, i) => t - times[i]!))
  return usual === undefined || usual === 0 ? undefined : usual * SNAPSHOT_SLACK
}

/**
 * Where a gap is, for `times` (Unix seconds, ascending) picked one per bucket: between two points whose buckets
 * are not neighbours, when the source usually fills neighbouring buckets. Undefined for a source sparser than
 * its buckets (each of its points is then in a bucket of its own, and its spacing tells its gaps).
 */
export function bucketGaps(
  times: number[],
  buckets: HistoryBuckets,
): ((previous: number, t: number) => boolean) | undefined {
  const from = Date.parse(buckets.from) / 1000
  const index = (t: number) => Math.floor((t - from) / (buckets.ms / 1000))
  const steps = times.slice(1).map((t, i) => index(t) - index(times[i]!))
  if (median(steps) !== 1) return undefined
  return (previous, t) => index(t) - index(previous) > 1
}

/** The chart's columns; sources in order of first appearance, `snapshot` first. */
export function toChartData(rows: readonly HistoryRow[], buckets?: HistoryBuckets): ChartData {
  const bySource = new Map<string, Map<number, number>>([['snapshot', new Map()]])
  for (const row of rows) {
    if (row.price === null) continue
    const points = bySource.get(row.source) ?? new Map<number, number>()
    points.set(Date.parse(row.time) / 1000, Number(row.price))
    bySource.set(row.source, points)
  }
  // Per source: its points, and a null halfway into each gap.
  const sources = [...bySource].filter(([, points]) => points.size > 0)
  const columns = sources.map(([label, points]) => {
    const times = [...points.keys()].sort((a, b) => a - b)
    const limit = maxSpacing(label, times)
    const isGap =
      (buckets && bucketGaps(times, buckets)) ??
      ((previous: number, t: number) => limit !== undefined && t - previous > limit)
    const withGaps = new Map<number, number | null>()
    times.forEach((t, i) => {
      const previous = times[i - 1]
      if (previous !== undefined && isGap(previous, t)) withGaps.set((t + previous) / 2, null)
      withGaps.set(t, points.get(t)!)
    })
    return { label, points: withGaps }
  })
  const x = [...new Set(columns.flatMap((c) => [...c.points.keys()]))].sort((a, b) => a - b)
  return {
    x,
    series: columns.map(({ label, points }) => ({ label, values: x.map((t) => points.get(t)) })),
  }
}
