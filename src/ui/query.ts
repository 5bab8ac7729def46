/**
 * Renders a query result: a table for people (rounded, grouped, gains and losses coloured on a terminal),
 * or csv / a JSON array of row objects for programs (every value exact, decimals as strings).
 */
import { MONEY_COLUMNS, type QueryResult, type ResultColumn } from '../pipeline/query.js'
import { renderChart } from './chart.js'
import {
  decimalSign,
  formatAge,
  formatAmount,
  formatDecimal,
  formatInteger,
  formatPercent,
  formatPrice,
  formatTime,
  paintChange,
  plural,
  roundDecimal,
} from './format.js'
import { type Column, renderTable } from './table.js'

export type OutputFormat = 'table' | 'csv' | 'json'

export interface RenderOptions {
  format: OutputFormat
  /** History only: a price chart instead of the table. */
  chart?: boolean
  color?: boolean
  width?: number
}

/** Columns a table leaves out (csv and json keep them). */
const HIDDEN: Partial<Record<QueryResult['report'], string[]>> = {
  latest: ['asset_id'],
  movers: ['side', 'asset_id'],
  exchanges: ['socket', 'observed_at'],
  markets: ['base_id', 'quote_id', 'observed_at'],
  runs: ['finished_at', 'api_requests', 'args'],
}

const LABELS: Record<string, string> = {
  rank: '#',
  asset_id: 'Asset',
  exchange_id: 'Exchange',
  change_24h: '24h',
  market_cap: 'Market cap',
  volume_24h: 'Volume 24h',
  observed_at: 'Observed (UTC)',
  time: 'Time (UTC)',
  price_from: 'First price',
  price_to: 'Last price',
  from: 'From (UTC)',
  to: 'To (UTC)',
  updated: 'Updated (UTC)',
  price_quote: 'Price (quote)',
  trades_24h: 'Trades 24h',
  run_id: 'Run',
  started_at: 'Started (UTC)',
  finished_at: 'Finished (UTC)',
  duration_ms: 'Took',
  api_requests: 'Requests',
}

const EMPTY: Partial<Record<QueryResult['report'], string>> = {
  latest: 'No asset snapshots yet: load some with `crypto-etl run`.',
  exchanges: 'No exchange snapshots yet: load some with `crypto-etl run --datasets exchanges`.',
  markets: 'No market snapshots match: markets are opt-in, `crypto-etl run --datasets markets`.',
  history: 'No points for that asset in that range.',
  movers: 'No asset moved in that period: none has two snapshots there with different prices.',
  runs: 'No runs recorded yet.',
  gaps: 'No gaps.',
}

function label(result: QueryResult, column: ResultColumn): string {
  if (result.report === 'sql') return column.name
  const text = LABELS[column.name] ?? column.name.charAt(0).toUpperCase() + column.name.slice(1).replace(/_/g, ' ')
  return MONEY_COLUMNS.has(column.name) ? `${text} (${result.currency})` : text
}

function asText(value: unknown): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** One value for a table cell. */
export function formatCell(value: unknown, column: ResultColumn, color = false): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'number' ? String(value) : value
  switch (column.kind) {
    case 'price':
      return formatPrice(asText(text))
    case 'amount':
      return formatAmount(asText(text))
    case 'percent':
      return paintChange(formatPercent(asText(text)), decimalSign(asText(text)), color)
    case 'share':
      return `${roundDecimal(asText(text), 2)}%`
    case 'decimal':
      return formatDecimal(asText(text))
    case 'integer':
      return formatInteger(asText(text))
    case 'time':
      return formatTime(value as Date)
    case 'duration':
      return formatAge(Number(value))
    case 'boolean':
      return value ? 'yes' : 'no'
    case 'list':
      return Array.isArray(value) ? value.join(',') : asText(value)
    case 'text':
    case 'json': {
      const s = asText(value).replace(/\s+/g, ' ')
      return s.length > 60 ? `${s.slice(0, 59)}…` : s
    }
  }
}

const RIGHT = new Set(['integer', 'price', 'amount', 'percent', 'share', 'decimal', 'duration'])

function table(result: QueryResult, rows: Record<string, unknown>[], color: boolean): string {
  // The currency column is for csv and json: a table says the currency in its money headers.
  const hidden = result.report === 'sql' ? [] : [...(HIDDEN[result.report] ?? []), 'currency']
  const columns: Column<Record<string, unknown>>[] = result.columns
    .filter((col) => !hidden.includes(col.name))
    .map((col) => ({
      header: label(result, col),
      align: RIGHT.has(col.kind) ? 'right' : 'left',
      value: (row) => formatCell(row[col.name], col, color),
    }))
  return renderTable(columns, rows)
}

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: unknown): string {
  const text = asText(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** CSV with a header line; values exactly as stored (times in ISO 8601 UTC). */
export function toCsv(result: QueryResult): string {
  const names = result.columns.map((c) => c.name)
  const lines = [names.map(csvField).join(',')]
  for (const row of result.rows) lines.push(names.map((n) => csvField(row[n])).join(','))
  return lines.join('\n')
}

function chart(result: QueryResult, width: number): string {
  const points = result.rows
    .filter((r) => r.price !== null && r.price !== undefined)
    .map((r) => ({ time: r.time as Date, value: Number(r.price) }))
  if (points.length === 0) return `No prices for ${result.assetId} in that range.`
  const title = `${result.assetId} price (${result.currency}), ${plural(points.length, 'point')}`
  const body = renderChart(points, { width, formatValue: (v) => formatPrice(v.toFixed(12)), formatTime })
  return `${title}\n${body}`
}

/** What `gaps` says when the asset has no point at that interval: there was nothing to check. */
export function noHistoryNotice(result: QueryResult): string {
  return (
    `No ${result.interval} history stored for ${result.assetId}, so no gaps to find; ` +
    `load some first: crypto-etl backfill --assets ${result.assetId} --interval ${result.interval} --from 30d`
  )
}

/** The text `query` prints on stdout. */
export function renderQuery(result: QueryResult, options: RenderOptions): string {
  if (options.format === 'json') return JSON.stringify(result.rows, null, 2)
  if (options.format === 'csv') return toCsv(result)
  if (options.chart) return chart(result, options.width ?? 80)
  const color = options.color ?? false
  if (result.rows.length === 0 && result.historyStored === false) return noHistoryNotice(result)
  if (result.rows.length === 0) return EMPTY[result.report] ?? 'No rows.'
  if (result.report !== 'movers') return table(result, result.rows, color)
  const gains = result.rows.filter((r) => r.side === 'gain')
  const losses = result.rows.filter((r) => r.side === 'loss')
  const parts: string[] = []
  if (gains.length) parts.push('Gains', table(result, gains, color))
  if (losses.length) parts.push('Losses', table(result, losses, color))
  return parts.join('\n')
}
