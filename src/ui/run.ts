/** How `run` shows itself: a spinner and a summary table under a TTY, a few plain lines under cron. */
import ora, { type Ora } from 'ora'
import { type EtlError, ExitCode } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import type { SnapshotDataset } from '../catalogue/index.js'
import type { DatasetOutcome, RunEvents, RunResult } from '../pipeline/run.js'
import { plural } from './format.js'
import { renderTable } from './table.js'

/**
 * Whether to draw spinners: stderr is a terminal with a width, not `--json`, not quiet. A terminal of zero
 * columns (`script` without a terminal, some container consoles) would hang ora: it clears lines without end.
 */
export function interactive(
  json: boolean,
  quiet: boolean,
  stream: { isTTY?: boolean; columns?: number } = process.stderr,
): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !json && !quiet && !process.env.CI
}

/** Progress events rendered as one spinner line (TTY) or log lines (cron). */
export function runProgress(logger: Logger, tty: boolean, label = ''): RunEvents & { stop(): void } {
  const state = new Map<SnapshotDataset, string>()
  let spinner: Ora | undefined
  const render = () => [...state].map(([d, s]) => `${d} ${s}`).join('  ·  ')
  const update = () => {
    if (!tty) return
    spinner ??= ora({ stream: process.stderr }).start()
    spinner.text = `${label}${render()}`
  }
  return {
    datasetStarted(dataset) {
      state.set(dataset, '…')
      update()
    },
    datasetLoaded(dataset, o: DatasetOutcome) {
      state.set(dataset, `✔ ${o.rows}`)
      update()
      if (!tty)
        logger.info(
          `${label}${dataset}: ${plural(o.rows, 'new row')} from ${plural(o.records, 'record')}, ${o.rejected} rejected`,
        )
    },
    datasetFailed(dataset, error: EtlError) {
      state.set(dataset, '✖')
      update()
      logger.error(`${label}${dataset} failed: ${error.message}`)
    },
    unknownAssets(ids) {
      const names = ids.map((id) => `'${id}'`).join(', ')
      logger.warn(`${label}CoinCap does not know asset${ids.length > 1 ? 's' : ''} ${names}: left out, the others load`)
    },
    stop() {
      spinner?.stop()
    },
  }
}

/** The end-of-run summary: a table under a TTY, one line otherwise. */
export function formatRunSummary(result: RunResult, tty: boolean, label = ''): string {
  const line =
    `${label}run ${result.runId} ${result.status} in ${(result.ms / 1000).toFixed(1)}s: ` +
    `${result.datasets.map((d) => `${d.dataset} ${d.status === 'ok' ? `+${d.rows}` : 'failed'}`).join(', ')}; ` +
    `${result.datasets.reduce((n, d) => n + d.rejected, 0)} rejected; ` +
    `${plural(result.api.requests, 'request')}, ~${plural(result.api.credits, 'credit')}`
  if (!tty) return line
  const table = renderTable(
    [
      { header: 'Dataset', value: (d: DatasetOutcome) => d.dataset },
      { header: 'Status', value: (d) => d.status },
      { header: 'New rows', value: (d) => String(d.rows), align: 'right' },
      { header: 'Records', value: (d) => String(d.records), align: 'right' },
      { header: 'Rejected', value: (d) => String(d.rejected), align: 'right' },
    ],
    result.datasets,
  )
  return `${table}\n${line}`
}

/** The run summary as the fields of a JSON log line (`--log-format json`). */
export function runSummaryFields(result: RunResult): Record<string, unknown> {
  return {
    run_id: result.runId,
    status: result.status,
    rows: Object.fromEntries(result.datasets.map((d) => [d.dataset, d.rows])),
    rejected: result.datasets.reduce((n, d) => n + d.rejected, 0),
    failed: result.datasets.filter((d) => d.status === 'failed').map((d) => d.dataset),
    requests: result.api.requests,
    credits: result.api.credits,
    ms: Math.round(result.ms),
    exit_code: result.error?.exitCode ?? ExitCode.ok,
  }
}
