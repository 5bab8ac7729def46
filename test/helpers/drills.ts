/**
 * Shared pieces of the fault drills (test/e2e/drills): a target database the spawned CLI and the test both
 * see, landing files generated on disk, and the checks every drill
 * makes of a failure (exit code, one or two lines, no stack trace).
 */
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type postgres from 'postgres'
import { expect } from 'vitest'
import { migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions } from '../../src/warehouse/writing/partitions.js'
import { type CliResult, runCli } from './cli.js'
import { TEST_DATABASE_URL } from './env.js'
import { type CliWarehouse, Scratch } from './scratch.js'
import type { Target } from './warehouse.js'

/** The API key every drill sends: long and unusual, so a leak is found by a plain substring search. */
export const DRILL_KEY = 'drill-key-Zq81xVw6-never-print-me'
/** The answers' envelope time of every drill (a fixed instant: exact rows per observation). */
export const DRILL_NOW = Date.parse('2026-01-15T12:00:00.000Z')

const scratch = new Scratch()

/** Undoes what the drills of a file made (schemas, folders, mounts); call it in `afterAll`. */
export async function cleanupDrills(): Promise<void> {
  await scratch.cleanup()
}

/** Registers work for {@link cleanupDrills}. */
export function onCleanup(fn: () => Promise<unknown>): void {
  scratch.onCleanup(fn)
}

/** The superuser connection to the test server, for looking at and killing the drill's backends. */
export function adminSql(): postgres.Sql {
  return scratch.admin
}

/** A target database for one drill, as the CLI sees it (`env`) and as the test looks inside it. */
export interface DrillTarget extends CliWarehouse {
  /** The `application_name` of the CLI's server connections: only this drill's backends carry it. */
  appName: string
}

/**
 * A fresh schema (server) or copy of the template data directory (embedded), with the API settings of
 * `apiUrl`. On a server, the URL names a unique `application_name`, so a drill can find and terminate the
 * CLI's own backends without touching anyone else's on the shared server.
 */
export async function prepareTarget(target: Target, label: string, apiUrl?: string): Promise<DrillTarget> {
  const t = await scratch.warehouse(target, `drill_${label}`, {
    COINCAP_API_KEY: DRILL_KEY,
    CRYPTO_ETL_API_RETRIES: '0',
    ...(apiUrl ? { COINCAP_API_URL: apiUrl } : {}),
  })
  const appName = `drill_${t.schema}`
  if (target === 'server') t.env.DATABASE_URL = `${TEST_DATABASE_URL}?application_name=${appName}`
  return { ...t, appName }
}

/**
 * The error block of stderr: from the first `Error: ` line to the end (log lines may come before it). Under
 * `--log-format json`, where every line is an object, the error line's `msg` and `hint` as the same two lines.
 */
export function errorBlock(stderr: string): string[] {
  const lines = stderr.trimEnd().split('\n')
  const objects = jsonLines(lines)
  if (objects) {
    const error = objects.find((o) => o.level === 'error' && typeof o.exit_code === 'number')
    return error ? [`Error: ${String(error.msg)}`, ...(error.hint ? [String(error.hint)] : [])] : []
  }
  const start = lines.findIndex((l) => l.startsWith('Error: ') || l.startsWith(' ›   Error: '))
  return start === -1 ? [] : lines.slice(start)
}

/** Every line parsed as a JSON object, or undefined when any line is not one (text logs). */
function jsonLines(lines: string[]): Record<string, unknown>[] | undefined {
  const objects: Record<string, unknown>[] = []
  for (const line of lines.filter((l) => l !== '')) {
    try {
      objects.push(JSON.parse(line) as Record<string, unknown>)
    } catch {
      return undefined
    }
  }
  return objects.length > 0 ? objects : undefined
}

/**
 * Exit `code`, an error of one or two lines on stderr (under JSON logs: one error line carrying `code` as its
 * `exit_code`), no stack trace anywhere.
 */
export function expectCleanFailure(r: CliResult, code: number): string[] {
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }).toMatchObject({ code, signal: null })
  const json = jsonLines(r.stderr.trimEnd().split('\n'))
  if (json) expect(json.filter((o) => o.level === 'error').at(-1)?.exit_code, r.stderr).toBe(code)
  const block = errorBlock(r.stderr)
  expect(block.length, r.stderr).toBeGreaterThanOrEqual(1)
  expect(block.length, r.stderr).toBeLessThanOrEqual(2)
  expect(r.stderr + r.stdout).not.toContain('    at ')
  return block
}

/** Polls `check` every 25 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await Promise.resolve(check()).catch(() => false)) return
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`)
}

/** The `nobody` user, to run the CLI without root's disregard for permissions. */
export const NOBODY = { uid: 65534, gid: 65534 }

/** A temporary folder removed by {@link cleanupDrills}. */
export function tempDir(label: string): Promise<string> {
  return scratch.folder(`drill-${label}`)
}

const HOUR = 3_600_000
const HISTORY_START = Date.UTC(2025, 0, 1)

/**
 * Writes a landing file of `assets` × `points` h1 history rows (one line per asset), streaming, as
 * bench/load.bench.ts does. Returns its path; the row count is `assets * points`.
 */
export async function writeHistoryLanding(path: string, assets: number, points: number): Promise<string> {
  const out = createWriteStream(path)
  for (let a = 0; a < assets; a++) {
    const data = []
    for (let p = 0; p < points; p++) {
      const time = HISTORY_START + p * HOUR
      data.push({ priceUsd: `${a + 1}.${String(p).padStart(6, '0')}`, time, date: new Date(time).toISOString() })
    }
    const line = `${JSON.stringify({ dataset: 'history', asset: `asset-${a}`, interval: 'h1', timestamp: HISTORY_START + points * HOUR, data })}\n`
    if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()))
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())))
  return path
}

/** A bundled fixture answer (`fixtures/coincap/<name>.json`), parsed. */
export async function fixture(name: string): Promise<{ data: Record<string, unknown>[]; timestamp: number }> {
  return JSON.parse(await readFile(new URL(`../../fixtures/coincap/${name}.json`, import.meta.url), 'utf8'))
}

/** Terminates every server backend of this drill's CLI (by its application_name); returns how many. */
export async function terminateBackends(appName: string, where = 'true'): Promise<number> {
  const rows = await scratch.admin.unsafe(
    `select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1 and (${where})`,
    [appName],
  )
  return rows.length
}

/** Whether this process may mount file systems (root in the CI container); drills that need it say so. */
export function isRoot(): boolean {
  return process.getuid?.() === 0
}

const DAY = 86_400_000
const DAYS = 120

/** Sends SIGTERM to the child once its stderr has printed `marker`. */
function sigtermOn(marker: string): (child: ChildProcess) => void {
  return (child) => {
    let seen = ''
    child.stderr?.on('data', (d: Buffer | string) => {
      seen += String(d)
      if (seen.includes(marker) && child.exitCode === null && !child.killed) child.kill('SIGTERM')
    })
  }
}

/**
 * 120 days of hourly bitcoin snapshots at half past each hour, from midnight UTC 120 days ago: one
 * partition a day, 24 rows in each whole day.
 */
async function seedSnapshots(t: DrillTarget): Promise<void> {
  await t.use(async (warehouse) => {
    await migrate(warehouse)
    const start = new Date(Math.floor(Date.now() / DAY) * DAY - DAYS * DAY)
    await ensurePartitions(warehouse.sql, t.schema, 'asset_snapshots', start, new Date())
    await warehouse.sql`
      insert into asset_snapshots (asset_id, observed_at, price_usd)
      select 'bitcoin', g, 1 from generate_series(${start}::timestamptz + interval '30 minutes', now(), interval '1 hour') g`
  })
}

/**
 * The prune drill: 120 days of daily partitions, `prune --older-than 30d` stopped by SIGTERM after its first
 * dropped partition. Exit 143, whole days gone oldest first, the recent days untouched, the run recorded as
 * interrupted; then the same prune finishes the job.
 */
export async function pruneSigtermDrill(target: Target): Promise<void> {
  const t = await prepareTarget(target, 'term_prune')
  await seedSnapshots(t)
  const recent = `select count(*)::int as n from asset_snapshots where observed_at >= now() - interval '29 days'`
  const [before] = await t.query<{ n: number }>(recent)
  const r = await runCli(['prune', '--older-than', '30d', '--verbose'], {
    env: t.env,
    onSpawn: sigtermOn('partition dropped'),
  })
  expect(r.code).toBe(143)
  expect(errorBlock(r.stderr)[0]).toBe('Error: Interrupted by SIGTERM.')
  // Whole days went, oldest first; the newest 29 days were never touched.
  const oldDays = new Date(Math.floor((Date.now() - 31 * DAY) / DAY) * DAY).toISOString()
  const [days] = await t.query<{ n: number; partial: number }>(
    `select count(*)::int as n, count(*) filter (where c <> 24)::int as partial from (
         select count(*) as c from asset_snapshots where observed_at < '${oldDays}'
         group by date_trunc('day', observed_at at time zone 'UTC')) d`,
  )
  expect(days?.partial).toBe(0)
  expect(days?.n).toBeGreaterThan(0)
  expect(days?.n).toBeLessThan(DAYS - 31)
  expect(await t.query<{ n: number }>(recent)).toEqual([before])
  const runs = await t.query<{ command: string; status: string }>('select command, status from etl_runs')
  expect(runs).toEqual([{ command: 'prune', status: 'interrupted' }])

  const again = await runCli(['prune', '--older-than', '30d'], { env: t.env })
  expect(again.code).toBe(0)
  expect(await t.count(`asset_snapshots where observed_at < now() - interval '30 days 1 minute'`)).toBe(0)
  expect(await t.query<{ n: number }>(recent)).toEqual([before])
}
