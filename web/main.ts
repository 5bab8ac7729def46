/**
 * The dashboard page: asks the JSON endpoints, draws the panels, and refreshes itself every `refreshMs`
 * (from `/api/meta`). State lives here; each panel's module only draws.
 */
import 'uplot/dist/uPlot.min.css'
import './style.css'
import { ApiError, getJson } from './api.js'
import { PriceChart } from './chart.js'
import { byId, el, fill } from './dom.js'
import { formatAge } from './format.js'
import { renderHealth } from './health.js'
import { renderLatest, type SortState } from './latest.js'
import { renderExchanges, renderMovers } from './panels.js'
import type { MetaAnswer, QueryAnswer, StatusAnswer } from './types.js'

const state = { currency: 'USD', asset: undefined as string | undefined, range: '24h' }
let sort: SortState = { column: 'rank', descending: false }
let latest: QueryAnswer | undefined
let refreshes = 0
/** Assets in the table: the top of the market, one screen tall. */
const LATEST_ROWS = 20
let running: Promise<void> | undefined
let again: Promise<void> | undefined
const chart = new PriceChart(byId('chart'))

function showError(error: unknown): void {
  const box = byId('error')
  const busy = error instanceof ApiError && error.status === 503
  const message = error instanceof Error ? error.message : String(error)
  const hint = error instanceof ApiError && error.hint ? ` ${error.hint}` : ''
  box.textContent = busy ? `${message} Showing the last data; trying again at the next refresh.` : `${message}${hint}`
  box.hidden = false
}

function drawLatest(): void {
  if (!latest) return
  renderLatest(byId<HTMLTableElement>('latest'), latest, sort, (next) => {
    sort = next
    drawLatest()
  })
  const demo = byId('demo')
  const runs = latest.demoRuns ?? []
  demo.hidden = runs.length === 0
  const remove = runs.length === 1 ? `crypto-etl prune --run ${runs[0]}` : 'crypto-etl prune --run <id>, each'
  demo.textContent = runs.length ? `Demo data: made-up prices from run ${runs.join(', ')} (remove: ${remove})` : ''
}

function assetChoices(answer: QueryAnswer): void {
  const select = byId<HTMLSelectElement>('asset')
  const ids = answer.rows.map((r) => String(r.asset_id))
  if (!state.asset || !ids.includes(state.asset)) state.asset = ids[0]
  fill(select, ...answer.rows.map((r) => el('option', { value: String(r.asset_id) }, `${r.symbol} · ${r.name}`)))
  if (state.asset) select.value = state.asset
}

async function drawChart(currency = state.currency, range = state.range): Promise<void> {
  const note = byId('chart-note')
  if (!state.asset) {
    note.textContent = 'No asset to chart yet.'
    return
  }
  const history = await getJson<QueryAnswer>('history', { asset: state.asset, range, currency })
  chart.show(history)
  const points = history.rows.length
  // A long range comes one stored point per bucket: say so, so the count is not read as all that is stored
  // (buckets under a minute, as when the range holds a few points, would keep them all anyway).
  const buckets = history.buckets && history.buckets.ms >= 60_000 ? history.buckets : undefined
  const each = buckets ? ` (the first of each ${formatAge(buckets.ms)})` : ''
  note.textContent = points
    ? `${points} stored point${points === 1 ? '' : 's'}${each} in ${history.currency}`
    : 'No stored point in this range.'
  // Which range the chart shows, for scripts and tests that switch it.
  note.dataset.range = range
}

/** Draws what answered; a panel whose endpoint failed keeps what it showed, and the banner says why. */
async function refreshOnce(): Promise<void> {
  const { currency, range } = state
  const failures: unknown[] = []
  const settle = async <T>(answer: Promise<T>, draw: (value: T) => void) => {
    try {
      draw(await answer)
    } catch (error) {
      failures.push(error)
    }
  }
  await Promise.all([
    settle(getJson<QueryAnswer>('latest', { currency, limit: String(LATEST_ROWS) }), (answer) => {
      latest = answer
      drawLatest()
      assetChoices(answer)
    }),
    settle(getJson<QueryAnswer>('movers', { range, currency }), (answer) => {
      renderMovers(byId('movers'), answer)
      byId('movers-range').textContent = `over ${range}`
    }),
    settle(getJson<QueryAnswer>('exchanges', { currency }), (answer) =>
      renderExchanges(byId('exchanges').querySelector('tbody')!, answer),
    ),
    settle(getJson<StatusAnswer>('status'), renderHealth),
  ])
  await settle(drawChart(currency, range), () => {})
  if (failures.length) showError(failures[0])
  else byId('error').hidden = true
  byId('updated').textContent = `updated ${new Date().toLocaleTimeString()}`
  document.body.dataset.refreshes = String(++refreshes)
}

/** One refresh at a time; one asked for meanwhile (a new currency, say) follows it. */
function refresh(): Promise<void> {
  if (running) {
    again ??= running.then(() => {
      again = undefined
      return refresh()
    })
    return again
  }
  running = refreshOnce()
    .catch(showError)
    .finally(() => (running = undefined))
  return running
}

function setupControls(meta: MetaAnswer): void {
  const currency = byId<HTMLSelectElement>('currency')
  const choices = ['USD', ...meta.currencies.filter((c) => c !== 'USD')]
  fill(currency, ...choices.map((c) => el('option', { value: c }, c)))
  currency.addEventListener('change', () => {
    state.currency = currency.value
    void refresh()
  })
  byId<HTMLSelectElement>('asset').addEventListener('change', (event) => {
    state.asset = (event.target as HTMLSelectElement).value
    drawChart().catch(showError)
  })
  const buttons = meta.ranges.map((range) => {
    const button = el(
      'button',
      { type: 'button', 'data-range': range, 'aria-pressed': String(range === state.range) },
      range,
    )
    button.addEventListener('click', () => {
      state.range = range
      for (const b of buttons) b.setAttribute('aria-pressed', String(b === button))
      void refresh()
    })
    return button
  })
  fill(byId('ranges'), ...buttons)
  byId('refresh').addEventListener('click', () => void refresh())
  byId('source').textContent = `${meta.database} database, schema ${meta.schema} · crypto-etl ${meta.version}`
}

async function start(): Promise<void> {
  const meta = await getJson<MetaAnswer>('meta')
  setupControls(meta)
  await refresh()
  setInterval(() => void refresh(), meta.refreshMs)
}

// For scripts and tests: what is drawn, and a way to refresh now.
Object.assign(window, { dashboard: { chart, refresh, state } })
start().catch(showError)
