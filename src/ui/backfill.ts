/** How `backfill` shows itself: the plan, a progress bar under a TTY or a line every few seconds under cron, a summary. */
import { formatDuration } from '../config/time.js'
import type { Logger } from '../core/log.js'
import type { AssetOutcome, AssetPlan, BackfillEvents, BackfillPlan, BackfillResult } from '../backfill/backfill.js'
import { plural } from './format.js'
import { renderTable } from './table.js'

/** The plan lists its windows one by one up to this many; beyond, per asset only (`--json` has them all). */
const MAX_LISTED_WINDOWS = 40
/** Under cron, a progress line at most this often. */
const LOG_EVERY_MS = 10_000
/** Under a TTY, the bar is redrawn at most this often. */
const DRAW_EVERY_MS = 100

const n = (value: number) => value.toLocaleString('en-US')
const day = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/:00\.000Z$/, 'Z') : '-')

/** One line: what the plan costs and takes. */
function planTotals(plan: BackfillPlan): string {
  const { totals, rate, assetRequests } = plan
  if (totals.requests === 0) return plan.fillGaps ? 'nothing to fetch: no hole left to ask for' : 'nothing to fetch'
  const top = assetRequests.requests ? ` (${assetRequests.requests} of them for the asset list)` : ''
  return (
    `${plural(totals.requests, 'request')}${top}, ~${plural(totals.credits, 'credit')}, about ${formatDuration(totals.durationMs)} ` +
    `at ${rate.requestsPerMinute} requests/min, ${rate.concurrency} at a time`
  )
}

function assetLine(a: AssetPlan, fillGaps: boolean): string {
  if (!a.from) return `${a.asset}: no stored history to check (give --from)`
  const skipped = fillGaps ? `${a.skipped} without holes to ask for` : `${a.skipped} already done`
  return `${a.asset} ${day(a.from)} to ${day(a.to)}: ${plural(a.toFetch.length, 'window')} to fetch, ${skipped}, ~${plural(a.credits, 'credit')}`
}

/** The `--plan` output: every window to fetch (or per asset when there are many), then the totals. */
export function formatPlan(plan: BackfillPlan): string {
  const windows = plan.assets.flatMap((a) => a.toFetch.map((w) => ({ asset: a.asset, ...w })))
  const lines = [
    `Backfill plan: ${plan.interval} points in windows of ${formatDuration(plan.windowMs)}${plan.fillGaps ? ', holes only' : ''}.`,
  ]
  if (windows.length > 0 && windows.length <= MAX_LISTED_WINDOWS) {
    lines.push(
      renderTable(
        [
          { header: 'Asset', value: (w: (typeof windows)[number]) => w.asset },
          { header: 'From', value: (w) => day(w.start) },
          { header: 'To (excl.)', value: (w) => day(w.end) },
          { header: 'Points', value: (w) => n(w.points), align: 'right' },
          { header: 'Credits', value: (w) => `~${n(w.credits)}`, align: 'right' },
        ],
        windows,
      ),
    )
  }
  lines.push(...plan.assets.map((a) => assetLine(a, plan.fillGaps)))
  if (plan.assetRequests.note) lines.push(`--top: ${plan.assetRequests.note}.`)
  lines.push(`Total: ${planTotals(plan)}.${plan.totals.requests ? ' Nothing was fetched.' : ''}`)
  return lines.join('\n')
}

/** One line of stderr, rewritten in place: the progress bar. */
function statusLine() {
  let shown = false
  return {
    draw(text: string) {
      const width = (process.stderr.columns || 80) - 1
      process.stderr.write(`\r\x1b[2K${text.slice(0, width)}`)
      shown = true
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[2K')
      shown = false
    },
  }
}

/** Progress rendered as one updating bar (TTY) or a log line every few seconds (cron). */
export function backfillProgress(
  logger: Logger,
  tty: boolean,
  now: () => number = Date.now,
): BackfillEvents & { stop(): void } {
  let total = 0
  let finished = 0
  let rows = 0
  let started = now()
  let lastLog = started
  let lastDraw = 0
  const line = tty ? statusLine() : undefined
  const eta = () => {
    if (finished === 0 || finished >= total) return ''
    return `, ETA ${formatDuration(((now() - started) / finished) * (total - finished))}`
  }
  const text = () => `${finished}/${plural(total, 'window')}, ${plural(rows, 'new row')}${eta()}`
  const bar = () => {
    const width = 20
    const full = total ? Math.round((finished / total) * width) : width
    return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${text()}`
  }
  const progressed = () => {
    if (line) {
      if (now() - lastDraw >= DRAW_EVERY_MS || finished === total) {
        lastDraw = now()
        line.draw(bar())
      }
    } else if (now() - lastLog >= LOG_EVERY_MS || finished === total) {
      lastLog = now()
      logger.info(`backfill: ${text()}`)
    }
  }
  return {
    planned(plan) {
      total = plan.totals.requests - plan.assetRequests.requests
      started = now()
      lastLog = started
      logger.info(`Plan: ${plan.assets.map((a) => assetLine(a, plan.fillGaps)).join('; ')}.`)
      logger.info(`Plan total: ${planTotals(plan)}.`)
      if (line && total > 0) line.draw(bar())
    },
    assetSkipped(asset, reason) {
      line?.clear()
      logger.warn(`skipped ${asset}: ${reason}`)
    },
    windowFinished(p) {
      finished += 1
      rows += p.rows
      progressed()
    },
    windowFailed(asset, window, error) {
      finished += 1
      line?.clear()
      const range = `${new Date(window.start).toISOString()}..${new Date(window.end).toISOString()}`
      logger.warn(`${asset} ${range} failed: ${error.message}`)
      progressed()
    },
    stop() {
      line?.clear()
    },
  }
}

const windowsOf = (o: AssetOutcome) => o.windows.done + o.windows.empty

/** The end-of-backfill summary: a table under a TTY, and one line. */
export function formatBackfill(result: BackfillResult, tty: boolean): string {
  const loaded = result.assets.reduce((sum, o) => sum + windowsOf(o), 0)
  const line =
    `backfill run ${result.runId} ${result.status} in ${(result.ms / 1000).toFixed(1)}s: ${plural(loaded, 'window')}, ` +
    `${plural(result.rows, 'new row')} (${n(result.rowsPerSecond)} rows/s); ` +
    `${plural(result.api.historyRequests, 'history request')}, ~${plural(result.api.credits, 'credit')}`
  const holes = result.assets.filter((o) => o.missing > 0)
  const notes = holes.map(
    (o) => `${o.asset}: CoinCap sent no point for ${plural(o.missing, 'bucket')} (holes at the source)`,
  )
  if (!tty) return [line, ...notes].join('\n')
  const table = renderTable(
    [
      { header: 'Asset', value: (o: AssetOutcome) => o.asset },
      { header: 'Status', value: (o) => o.status },
      { header: 'Windows', value: (o) => String(windowsOf(o)), align: 'right' },
      { header: 'Skipped', value: (o) => String(o.windows.skipped), align: 'right' },
      { header: 'Failed', value: (o) => String(o.windows.failed), align: 'right' },
      { header: 'Points', value: (o) => n(o.points), align: 'right' },
      { header: 'New rows', value: (o) => n(o.rows), align: 'right' },
      { header: 'Holes', value: (o) => n(o.missing), align: 'right' },
    ],
    result.assets,
  )
  return [table, line, ...notes].join('\n')
}
