/**
 * Reads the dashboard page as a test sees it: the rows of the prices table, the points the chart holds and
 * whether the canvas shows them, the page's refresh count, and every error the page raised.
 */
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import type { Page } from 'playwright-core'

export interface LatestRow {
  asset: string
  symbol: string
  /** The price as shown, and the exact stored value it was formatted from. */
  price: string
  priceValue: string
}

/** The rows of the latest prices table, top to bottom. */
export function latestTable(page: Page): Promise<LatestRow[]> {
  return page.$$eval('#latest tbody tr[data-asset]', (rows) =>
    rows.map((tr) => {
      const cell = (column: number) => tr.children[column] as HTMLElement
      return {
        asset: tr.getAttribute('data-asset')!,
        symbol: cell(1).textContent!,
        price: cell(2).textContent!,
        priceValue: cell(2).dataset.value!,
      }
    }),
  )
}

/** Waits until the page has finished `count` refreshes. */
export async function refreshed(page: Page, count: number, timeout = 60_000): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset.refreshes ?? 0) >= n, count, { timeout })
}

/** Waits until the chart shows prices in `currency` (the page's note under it says so). */
export async function chartCurrency(page: Page, currency: string): Promise<void> {
  await page.waitForFunction((c) => document.querySelector('#chart-note')?.textContent?.endsWith(` in ${c}`), currency)
}

/** Script errors and console errors (a refused resource or policy violation is one), as they come. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`)
  })
  return errors
}

export interface ChartPoints {
  /** Per series label, its points as [Unix seconds, value]. */
  series: Record<string, [number, number][]>
  /** Per point, in series order: whether the canvas has the series' colour within 4 px of it. */
  drawn: boolean[]
  /** Per gap (a null between two points): whether the canvas has the series' colour at its middle. */
  gaps: boolean[]
}

/** What the chart holds, and what its canvas shows at each point and in each gap. */
export function chartPoints(page: Page): Promise<ChartPoints> {
  return page.evaluate(() => {
    type Plot = {
      ctx: CanvasRenderingContext2D
      series: { stroke?: unknown }[]
      valToPos(value: number, scale: string, canvasPixels: boolean): number
    }
    const dashboard = (
      window as unknown as {
        dashboard: {
          chart: {
            instance: Plot
            data: { x: number[]; series: { label: string; values: (number | null | undefined)[] }[] }
          }
        }
      }
    ).dashboard
    const { instance: u, data } = dashboard.chart
    const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
    const colourNear = (x: number, y: number, colour: number[], radius: number) => {
      const pixels = u.ctx.getImageData(
        Math.round(x) - radius,
        Math.round(y) - radius,
        2 * radius + 1,
        2 * radius + 1,
      ).data
      for (let i = 0; i < pixels.length; i += 4) {
        const distance =
          Math.abs(pixels[i]! - colour[0]!) +
          Math.abs(pixels[i + 1]! - colour[1]!) +
          Math.abs(pixels[i + 2]! - colour[2]!)
        if (pixels[i + 3]! > 200 && distance < 60) return true
      }
      return false
    }
    const series: Record<string, [number, number][]> = {}
    const drawn: boolean[] = []
    const gaps: boolean[] = []
    data.series.forEach((s, index) => {
      const stroke = u.series[index + 1]!.stroke
      const colour = rgb(
        String(typeof stroke === 'function' ? (stroke as (u: Plot, i: number) => string)(u, index + 1) : stroke),
      )
      const points: [number, number][] = []
      s.values.forEach((value, i) => {
        const x = data.x[i]!
        if (typeof value === 'number') {
          points.push([x, value])
          drawn.push(colourNear(u.valToPos(x, 'x', true), u.valToPos(value, 'y', true), colour, 4))
        } else if (value === null) {
          const before = s.values
            .slice(0, i)
            .filter((v): v is number => typeof v === 'number')
            .at(-1)!
          const after = s.values.slice(i + 1).find((v): v is number => typeof v === 'number')!
          gaps.push(colourNear(u.valToPos(x, 'x', true), u.valToPos((before + after) / 2, 'y', true), colour, 3))
        }
      })
      series[s.label] = points
    })
    return { series, drawn, gaps }
  })
}
