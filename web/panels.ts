/** Movers over the chosen range, and exchanges by their share of the volume. */
import { el, fill, valueCell } from './dom.js'
import { formatAmount, formatChange, formatPrice, formatShare } from './format.js'
import type { QueryAnswer, Row } from './types.js'

function moverRow(row: Row): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-asset': String(row.asset_id) },
    el('td', {}, String(row.symbol)),
    valueCell(formatChange(row.change), row.change, `num ${row.side === 'gain' ? 'up' : 'down'}`),
    valueCell(formatPrice(row.price_from), row.price_from, 'num'),
    el('td', { class: 'muted' }, '→'),
    valueCell(formatPrice(row.price_to), row.price_to, 'num'),
  )
}

/** Two lists, gains and losses, each with the change and the prices it is between. */
export function renderMovers(container: HTMLElement, answer: QueryAnswer): void {
  const side = (name: string, title: string) => {
    const rows = answer.rows.filter((r) => r.side === name)
    return el(
      'div',
      { class: 'movers-side', 'data-side': name },
      el('h3', {}, title),
      rows.length ? el('table', {}, el('tbody', {}, ...rows.map(moverRow))) : el('p', { class: 'muted' }, 'none'),
    )
  }
  if (answer.rows.length === 0) {
    fill(
      container,
      el('p', { class: 'muted' }, 'No price moved in this range (an asset needs two snapshots with different prices).'),
    )
    return
  }
  fill(container, side('gain', 'Gains'), side('loss', 'Losses'))
}

/** Exchanges with a bar of their volume share. */
export function renderExchanges(tbody: HTMLTableSectionElement, answer: QueryAnswer): void {
  const rows = answer.rows.map((row) => {
    const bar = el('span', { class: 'bar' })
    // A style property set from script is allowed by the page's policy (style-src 'self'), unlike a style attribute.
    bar.style.width = `${Math.min(100, Math.max(0, Number(row.share ?? 0)))}%`
    return el(
      'tr',
      { 'data-exchange': String(row.exchange_id) },
      el('td', {}, String(row.name ?? row.exchange_id)),
      el('td', { class: 'share' }, bar),
      valueCell(formatShare(row.share), row.share, 'num'),
      valueCell(formatAmount(row.volume_24h), row.volume_24h, 'num'),
    )
  })
  fill(tbody, ...(rows.length ? rows : [el('tr', {}, el('td', {}, 'No exchange snapshots yet.'))]))
}
