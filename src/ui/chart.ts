/**
 * A line chart for the terminal in braille dots (2 × 4 per character): time across, value up, the
 * extremes labelled on the left and the first and last time below.
 */

export interface ChartPoint {
  time: Date
  value: number
}

export interface ChartOptions {
  /** Total width in characters, labels included (default: the terminal's, or 80). */
  width?: number
  /** Rows of dots (default 10). */
  height?: number
  formatValue?: (value: number) => string
  formatTime?: (time: Date) => string
}

// Bit of each dot in a braille cell, by column (0, 1) and row (0 = top … 3).
const DOTS = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
] as const

/**
 * Renders the points (any order) as a braille line chart; an empty series gives an empty string. A flat
 * series is labelled once, on its line; a single point is drawn as a short dash with its time under it.
 */
export function renderChart(input: ChartPoint[], options: ChartOptions = {}): string {
  const points = input.filter((p) => Number.isFinite(p.value)).sort((a, b) => a.time.getTime() - b.time.getTime())
  if (points.length === 0) return ''
  const formatValue = options.formatValue ?? ((v: number) => String(v))
  const formatTime = options.formatTime ?? ((t: Date) => t.toISOString())
  const height = Math.max(2, options.height ?? 10)
  const values = points.map((p) => p.value)
  const min = Math.min(...values)
  const max = Math.max(...values)
  const flat = max === min
  const labels = flat ? [formatValue(min)] : [formatValue(max), formatValue((min + max) / 2), formatValue(min)]
  const labelWidth = Math.max(...labels.map((l) => l.length))
  const cols = Math.max(10, (options.width ?? 80) - labelWidth - 2)

  const dotsX = cols * 2
  const dotsY = height * 4
  const t0 = points[0]!.time.getTime()
  const span = points[points.length - 1]!.time.getTime() - t0
  const toX = (t: number) => (span === 0 ? Math.floor(dotsX / 2) : Math.round(((t - t0) / span) * (dotsX - 1)))
  const toY = (v: number) => (max === min ? Math.floor(dotsY / 2) : Math.round(((max - v) / (max - min)) * (dotsY - 1)))

  const cells = Array.from({ length: height }, () => new Array<number>(cols).fill(0))
  const plot = (x: number, y: number) => {
    const row = cells[Math.floor(y / 4)]
    if (row) row[Math.floor(x / 2)]! |= DOTS[(x % 2) as 0 | 1][(y % 4) as 0 | 1 | 2 | 3]
  }
  let prev: { x: number; y: number } | undefined
  for (const p of points) {
    const x = toX(p.time.getTime())
    const y = toY(p.value)
    if (prev) {
      // Join consecutive points so a jump reads as a line, not two dots.
      const steps = Math.max(Math.abs(x - prev.x), Math.abs(y - prev.y), 1)
      for (let i = 1; i <= steps; i++) {
        plot(Math.round(prev.x + ((x - prev.x) * i) / steps), Math.round(prev.y + ((y - prev.y) * i) / steps))
      }
    } else plot(x, y)
    prev = { x, y }
  }
  // A lone dot is easy to miss: a single point is a dash of a few characters around its place.
  if (points.length === 1) for (let dx = -6; dx <= 6; dx++) plot(toX(t0) + dx, toY(min))

  const labelRow = (i: number): string | undefined => {
    if (flat) return i === Math.floor(toY(min) / 4) ? labels[0] : undefined
    return i === 0
      ? labels[0]
      : i === height - 1
        ? labels[2]
        : i === Math.floor((height - 1) / 2)
          ? labels[1]
          : undefined
  }

  const lines = cells.map((row, i) => {
    const label = labelRow(i) ?? ''
    const axis = label ? '┤' : '│'
    return `${label.padStart(labelWidth)} ${axis}${row.map((bits) => String.fromCharCode(0x2800 + bits)).join('')}`
  })
  lines.push(`${' '.repeat(labelWidth)} └${'─'.repeat(cols)}`)
  const first = formatTime(points[0]!.time)
  const last = formatTime(points[points.length - 1]!.time)
  if (span === 0) {
    const centred = Math.max(0, Math.floor(toX(t0) / 2) - Math.floor(first.length / 2))
    lines.push(`${' '.repeat(labelWidth + 2 + centred)}${first}`)
  } else {
    const gap = Math.max(1, cols - first.length - last.length)
    lines.push(`${' '.repeat(labelWidth + 2)}${first}${' '.repeat(gap)}${last}`)
  }
  return lines.join('\n')
}
