/** How `prune` shows its result: one row per table, then one line saying what happened. */
import { formatBytes } from '../core/bytes.js'
import { formatDuration } from '../config/time.js'
import type { PruneResult, PruneTableResult } from '../pipeline/prune.js'
import { plural } from './format.js'
import { renderTable } from './table.js'

const count = (n: number) => n.toLocaleString('en-US')

function criteria(result: PruneResult): string {
  const parts: string[] = []
  if (result.newerThan) parts.push(`at or after ${result.newerThan}`)
  if (result.olderThan) parts.push(`before ${result.olderThan}`)
  const when = parts.length ? `observed ${parts.join(' and ')}` : ''
  const run = result.run !== null ? `loaded by run ${result.run}` : ''
  return [run, when].filter(Boolean).join(', ')
}

/** The per-table table and a summary line; a dry run says what would go and that nothing was deleted. */
export function formatPrune(result: PruneResult): string {
  const size = (t: PruneTableResult) =>
    t.dataset === null ? '' : `${formatBytes(t.bytesBefore)} → ${formatBytes(t.bytesAfter)}`
  const table = renderTable<PruneTableResult>(
    [
      { header: 'Table', value: (t) => t.table },
      { header: result.dryRun ? 'Rows to remove' : 'Rows removed', value: (t) => count(t.rows), align: 'right' },
      { header: 'Partitions dropped', value: (t) => count(t.partitionsDropped), align: 'right' },
      { header: 'Delete batches', value: (t) => count(t.batches), align: 'right' },
      { header: result.dryRun ? 'Size now → after' : 'Size before → after', value: size, align: 'right' },
    ],
    result.tables,
  )
  const what = `${plural(result.rows, 'row')} and ${plural(result.partitionsDropped, 'partition')} ${criteria(result)}`
  const summary = result.dryRun
    ? `Dry run: would remove ${what}. Nothing was deleted.`
    : `Removed ${what} in ${formatDuration(result.ms)} (etl_runs ${result.runId}).`
  return `${table}\n${summary}`
}
