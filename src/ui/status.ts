/** Renders `status` for people: datasets and their age, the last runs, tables, credits and the verdict. */
import type { DatasetStatus, RunRow, StatusResult } from '../pipeline/status.js'
import type { TableStats } from '../warehouse/reading/status.js'
import { formatBytes } from '../core/bytes.js'
import { formatAge, formatInteger, formatTime, paintChange, plural } from './format.js'
import { renderTable } from './table.js'

function runStatus(status: string, color: boolean): string {
  return paintChange(status, status === 'ok' ? 1 : status === 'running' || status === 'skipped' ? 0 : -1, color)
}

/** The text `status` prints on stdout; problems of the health check are the command's to print on stderr. */
export function renderStatus(result: StatusResult, options: { color?: boolean } = {}): string {
  const color = options.color ?? false
  const out: string[] = [`Schema ${result.schema} on the ${result.database} database, at ${formatTime(result.now)}`, '']
  out.push(
    'Datasets',
    renderTable<DatasetStatus>(
      [
        { header: 'Dataset', value: (d) => d.dataset },
        { header: 'Newest (UTC)', value: (d) => (d.newest ? formatTime(d.newest) : 'no data') },
        { header: 'Age', value: (d) => formatAge(d.ageMs), align: 'right' },
        { header: 'Scheduled', value: (d) => (d.scheduled ? 'yes' : '') },
      ],
      result.datasets,
    ),
    result.watchedBy === 'scheduled runs'
      ? 'Scheduled: loaded by the runs of the schedule (run --scheduled) in the last 7 days.'
      : 'Scheduled: loaded by any run or load in the day before the newest (no run --scheduled in 7 days).',
    '',
    'Last runs',
    result.runs.length === 0
      ? 'No runs recorded yet.'
      : renderTable<RunRow>(
          [
            { header: 'Run', value: (r) => formatInteger(r.run_id), align: 'right' },
            { header: 'Command', value: (r) => r.command },
            { header: 'Status', value: (r) => runStatus(r.status, color) },
            { header: 'Started (UTC)', value: (r) => formatTime(r.started_at) },
            { header: 'Took', value: (r) => formatAge(r.duration_ms), align: 'right' },
            { header: 'Datasets', value: (r) => r.datasets.join(',') },
            { header: 'Rows', value: (r) => formatInteger(r.rows), align: 'right' },
            { header: 'Credits', value: (r) => formatInteger(r.credits), align: 'right' },
            { header: 'Error', value: (r) => (r.error ?? '').replace(/\s+/g, ' ').slice(0, 50) },
          ],
          result.runs,
        ),
    '',
    'Tables',
    renderTable<TableStats>(
      [
        { header: 'Table', value: (t) => t.table },
        { header: 'Rows', value: (t) => `${t.estimated ? '~' : ''}${formatInteger(t.rows)}`, align: 'right' },
        { header: 'Size', value: (t) => formatBytes(t.bytes), align: 'right' },
      ],
      result.tables,
    ),
  )
  if (result.tables.some((t) => t.estimated))
    out.push('~ estimated by the planner (pg_class.reltuples, as of the last ANALYZE)')
  out.push(
    '',
    `API credits used this month (since ${formatTime(result.credits.since)}): ${formatInteger(result.credits.used)}`,
  )
  const { health } = result
  if (health) {
    const limit = formatAge(health.maxAgeMs)
    out.push(
      health.healthy
        ? paintChange(`Healthy: every scheduled dataset is newer than ${limit} and the last run succeeded.`, 1, color)
        : paintChange(`Unhealthy: ${plural(health.reasons.length, 'problem')}, listed on stderr.`, -1, color),
    )
  }
  return out.join('\n')
}
