/**
 * `load`: a landing file (or stdin) into the warehouse, all or nothing. The file is streamed line by
 * line inside one transaction, so memory stays flat and a bad line rolls back everything before it.
 */
import type { Readable } from 'node:stream'
import { CATALOGUE } from '../catalogue/index.js'
import { BulkWriter } from '../warehouse/writing/bulk.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import { diskGuard } from '../warehouse/embedded/disk.js'
import { loadAnswer } from './mapping.js'
import { recordRun } from '../warehouse/ledgers/runs.js'
import { readLanding } from './landing.js'

export interface LoadOptions {
  /** Name of the source for messages: a path or `stdin`. */
  name: string
  version: string
  signal?: AbortSignal
  /** Called once the run is recorded, before the first line is read. */
  onStarted?: (runId: number) => void
  /** Called at the first demo line (written by `extract --demo`), with its number; throws to refuse the file. */
  onDemo?: (line: number) => void
}

/** What a load did, per table: new rows and rejected records; `lines` answers read. */
export interface LoadResult {
  runId: number
  lines: number
  rows: Record<string, number>
  rejected: number
  /** What the extract that wrote the file spent on the answers this load added (carried in its lines). */
  api: { requests: number; credits: number }
  /** The file held demo answers (made up): the run is recorded as `load --demo`. */
  demo: boolean
}

/**
 * Loads every answer of `input` in one transaction, recorded as an `etl_runs` row of command `load`.
 * Loading the same file twice changes nothing the second time.
 */
export async function loadLandingFile(
  warehouse: Warehouse,
  input: Readable,
  options: LoadOptions,
): Promise<LoadResult> {
  const start = { command: 'load', datasets: [], version: options.version, signal: options.signal }
  return recordRun(warehouse.sql, start, async (runId) => {
    options.onStarted?.(runId)
    const { result, datasets } = await loadLines(warehouse, input, options, runId)
    // The extract's credits are recorded by the load that stores its answers; a file loaded before adds no rows
    // and records none, so loading it again does not count them twice.
    if (Object.values(result.rows).every((n) => n === 0)) result.api = { requests: 0, credits: 0 }
    const outcome = {
      status: 'ok',
      rows: result.rows,
      rejected: result.rejected,
      apiRequests: result.api.requests,
      apiCredits: result.api.credits,
      // A load of demo answers carries the demo label, as `run --demo` does, so reports can say they are made up.
      command: result.demo ? 'load --demo' : 'load',
      datasets: [...datasets],
    } as const
    return { result, outcome }
  })
}

/** Reads and loads the lines of `input` in one transaction: committed whole, or (on any error) not at all. */
async function loadLines(
  warehouse: Warehouse,
  input: Readable,
  options: LoadOptions,
  runId: number,
): Promise<{ result: LoadResult; datasets: Set<string> }> {
  const { sql, schema } = warehouse
  const result: LoadResult = { runId, lines: 0, rows: {}, rejected: 0, api: { requests: 0, credits: 0 }, demo: false }
  const datasets = new Set<string>()
  const checkDisk = diskGuard(warehouse.dataDir)
  // A signal ends the wait for the next line too (a FIFO or a stdin whose writer never closes it).
  const stopReading = () => input.destroy(options.signal!.reason as Error)
  options.signal?.addEventListener('abort', stopReading, { once: true })
  try {
    await sql.begin(async (tx) => {
      // Partitions are made outside this transaction (committed at once) on a server: see loader.ts.
      const partitions = warehouse.kind === 'server' ? sql : tx
      const keyColumns = CATALOGUE.history.key.length
      const history = new BulkWriter(tx, schema, warehouse.kind, keyColumns, undefined, partitions)
      for await (const { line, answer, cost, demo } of readLanding(input, options.name)) {
        if (options.signal?.aborted) throw options.signal.reason
        if (demo && !result.demo) {
          options.onDemo?.(line)
          result.demo = true
        }
        await checkDisk()
        const loaded = await loadAnswer(tx, schema, answer, runId, { history, partitions })
        result.lines += 1
        result.rows[answer.dataset] = (result.rows[answer.dataset] ?? 0) + loaded.rows
        result.rejected += loaded.rejected
        result.api.requests += cost?.requests ?? 0
        result.api.credits += cost?.credits ?? 0
        datasets.add(answer.dataset)
      }
      await history.flush()
      if (datasets.has('history')) result.rows.history = history.inserted
      // A signal while reading means the input may be cut short (Ctrl-C on `extract | load -` ends both):
      // its end is no proof of a complete file, so nothing of it is committed.
      if (options.signal?.aborted) throw options.signal.reason
    })
  } finally {
    options.signal?.removeEventListener('abort', stopReading)
  }
  return { result, datasets }
}
