/**
 * Health: the verdict of `status --max-age` (green, or red with its reasons), freshness per dataset, the
 * last runs, and this month's credits against the plan.
 */
import { byId, el, fill, valueCell } from './dom.js'
import { formatAge, formatCount, formatTime } from './format.js'
import type { StatusAnswer } from './types.js'

function verdict(status: StatusAnswer): void {
  const badge = byId('verdict')
  const healthy = status.health?.healthy ?? false
  badge.textContent = healthy ? 'healthy' : 'unhealthy'
  badge.className = `badge ${healthy ? 'ok' : 'bad'}`
  byId('health-panel').dataset.healthy = String(healthy)
  fill(byId('reasons'), ...(status.health?.reasons ?? []).map((reason) => el('li', {}, reason)))
}

function freshness(status: StatusAnswer): void {
  const maxAge = status.health?.maxAgeMs ?? Infinity
  const rows = status.datasets.map((d) => {
    const stale = d.scheduled && (d.ageMs === null || d.ageMs >= maxAge)
    const state = d.scheduled ? (stale ? 'stale' : 'fresh') : 'not watched'
    return el(
      'tr',
      { 'data-dataset': d.dataset, class: stale ? 'bad' : d.scheduled ? 'ok' : 'muted' },
      el('td', {}, d.dataset),
      valueCell(d.newest ? `${formatAge(d.ageMs)} old` : 'no data', d.newest),
      el('td', {}, state),
    )
  })
  fill(byId('freshness').querySelector('tbody')!, ...rows)
}

function runs(status: StatusAnswer): void {
  const rows = status.runs.map((r) =>
    el(
      'tr',
      { 'data-run': String(r.run_id), class: r.status === 'ok' ? undefined : 'bad' },
      el('td', {}, `#${r.run_id}`),
      el('td', {}, r.command),
      el('td', { class: `status ${r.status}`, title: r.error ?? undefined }, r.status),
      valueCell(formatTime(r.started_at), r.started_at, 'muted'),
      valueCell(`${formatCount(r.rows)} rows`, r.rows, 'num'),
      valueCell(`${formatCount(r.credits)} cr`, r.credits, 'num'),
    ),
  )
  fill(byId('runs').querySelector('tbody')!, ...(rows.length ? rows : [el('tr', {}, el('td', {}, 'No run yet.'))]))
}

function credits(status: StatusAnswer): void {
  const used = status.credits.used
  const plan = status.plan
  const text = plan
    ? `${formatCount(used)} of ${formatCount(plan.credits)} (${plan.name}) since ${formatTime(status.credits.since)}`
    : `${formatCount(used)} since ${formatTime(status.credits.since)} (name a plan: --plan)`
  const meter = plan && el('div', { class: `meter ${used > plan.credits ? 'bad' : ''}` }, el('span', { class: 'bar' }))
  if (meter) (meter.firstChild as HTMLElement).style.width = `${Math.min(100, (100 * used) / plan!.credits)}%`
  fill(byId('credits'), meter, el('p', { 'data-used': String(used) }, text))
}

/** Draws the health panel from `status --max-age --json`'s answer. */
export function renderHealth(status: StatusAnswer): void {
  verdict(status)
  freshness(status)
  runs(status)
  credits(status)
}
