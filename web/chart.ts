/**
 * The price chart of one asset (uPlot): snapshots and `asset_history` points as separate lines, gaps left
 * open. Prices become numbers here, to be drawn; the table keeps the exact strings.
 */
import uPlot from 'uplot'
import type { QueryAnswer } from './types.js'
import { type ChartData, type HistoryRow, toChartData } from './series.js'

/** [since, until] in Unix seconds, or undefined for `all` (since the epoch): then the points set it. */
function rangeOf(answer: QueryAnswer): [number, number] | undefined {
  if (!answer.since || !answer.until || Date.parse(answer.since) <= 0) return undefined
  return [Date.parse(answer.since) / 1000, Date.parse(answer.until) / 1000]
}

const COLORS = ['#2563eb', '#9333ea', '#0f766e']
const HEIGHT = 300

export class PriceChart {
  private plot?: uPlot
  private labels = ''
  /** The x range asked for (the chosen range up to now), so that one point or a short run is placed in it. */
  private range?: [number, number]
  /** The columns drawn last (read by tests and scripts through `window.dashboard`). */
  data: ChartData = { x: [], series: [] }

  constructor(private readonly container: HTMLElement) {
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(container)
  }

  private size() {
    return { width: Math.max(this.container.clientWidth, 200), height: HEIGHT }
  }

  /** Draws `answer` (a history report); the same sources keep the same chart, others make a new one. */
  show(answer: QueryAnswer): void {
    this.data = toChartData(answer.rows as unknown as HistoryRow[], answer.buckets)
    const columns = [this.data.x, ...this.data.series.map((s) => s.values)] as uPlot.AlignedData
    const labels = `${answer.currency}|${this.data.series.map((s) => s.label).join('|')}`
    this.range = rangeOf(answer)
    if (this.plot && labels === this.labels) {
      this.plot.setData(columns)
      return
    }
    this.plot?.destroy()
    this.labels = labels
    this.plot = new uPlot(this.options(answer.currency), columns, this.container)
  }

  /** The uPlot instance, for tests that check where points are drawn. */
  get instance(): uPlot | undefined {
    return this.plot
  }

  private options(currency: string): uPlot.Options {
    return {
      ...this.size(),
      scales: {
        x: { time: true, range: (_u, min, max) => this.range ?? [min, max] },
        // A flat line (one price, or a stablecoin) gets a band around it rather than a range from 0.
        y: { range: (_u, min, max) => (min === max ? [min * 0.99, max * 1.01] : uPlot.rangeNum(min, max, 0.1, true)) },
      },
      axes: [{}, { label: currency, size: 70 }],
      series: [
        {},
        ...this.data.series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          spanGaps: false,
          points: { show: (u: uPlot) => u.data[0].length < 150, size: 6 },
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : String(v)),
        })),
      ],
      legend: { live: true },
    }
  }
}
