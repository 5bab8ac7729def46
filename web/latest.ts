/** The latest prices table: rank, symbol (name on hover), price, 24 h change, market cap, volume; sortable by any column. */
import { el, fill, valueCell } from './dom.js'
import { compareDecimals, formatAmount, formatChange, formatPrice } from './format.js'
import type { QueryAnswer, Row } from './types.js'

interface Column {
  name: string
  label: (currency: string) => string
  cell: (row: Row) => HTMLTableCellElement
  text?: boolean
}

const COLUMNS: Column[] = [
  { name: 'rank', label: () => '#', cell: (r) => valueCell(String(r.rank ?? '–'), r.rank, 'num') },
  {
    name: 'symbol',
    label: () => 'Asset',
    cell: (r) => el('td', { title: String(r.name), 'data-value': String(r.symbol) }, String(r.symbol)),
    text: true,
  },
  { name: 'price', label: (c) => `Price (${c})`, cell: (r) => valueCell(formatPrice(r.price), r.price, 'num') },
  {
    name: 'change_24h',
    label: () => '24 h',
    cell: (r) => {
      const change = String(r.change_24h ?? '')
      const sign = change.startsWith('-') ? 'down' : /[1-9]/.test(change) ? 'up' : undefined
      return valueCell(formatChange(r.change_24h), r.change_24h, `num ${sign ?? ''}`.trim())
    },
  },
  {
    name: 'market_cap',
    label: (c) => `Market cap (${c})`,
    cell: (r) => valueCell(formatAmount(r.market_cap), r.market_cap, 'num'),
  },
  {
    name: 'volume_24h',
    label: (c) => `Volume 24 h (${c})`,
    cell: (r) => valueCell(formatAmount(r.volume_24h), r.volume_24h, 'num'),
  },
]

export interface SortState {
  column: string
  descending: boolean
}

function compare(column: Column, a: Row, b: Row): number {
  const x = a[column.name]
  const y = b[column.name]
  if (column.text) return String(x ?? '').localeCompare(String(y ?? ''))
  return compareDecimals(x === null ? null : String(x), y === null ? null : String(y))
}

/** Draws the table of `answer` sorted by `sort`; a click on a header calls `onSort` with the new order. */
export function renderLatest(
  table: HTMLTableElement,
  answer: QueryAnswer,
  sort: SortState,
  onSort: (sort: SortState) => void,
): void {
  const column = COLUMNS.find((c) => c.name === sort.column) ?? COLUMNS[0]!
  const rows = [...answer.rows].sort((a, b) => (sort.descending ? -1 : 1) * compare(column, a, b))
  const headers = COLUMNS.map((c) => {
    const active = c.name === column.name
    const th = el('th', {
      'data-column': c.name,
      'aria-sort': active ? (sort.descending ? 'descending' : 'ascending') : undefined,
      class: c.text ? undefined : 'num',
    })
    const button = el(
      'button',
      { type: 'button' },
      c.label(answer.currency),
      active ? (sort.descending ? ' ▼' : ' ▲') : '',
    )
    button.addEventListener('click', () =>
      onSort({ column: c.name, descending: active ? !sort.descending : !c.text && c.name !== 'rank' }),
    )
    th.append(button)
    return th
  })
  fill(table.tHead!, el('tr', {}, ...headers))
  const body = rows.map((row) => el('tr', { 'data-asset': String(row.asset_id) }, ...COLUMNS.map((c) => c.cell(row))))
  fill(
    table.tBodies[0]!,
    ...(body.length ? body : [el('tr', {}, el('td', { colspan: '6' }, 'No asset snapshots yet: crypto-etl run'))]),
  )
}
