/**
 * Shared pieces of the fault drills (test/e2e/drills): a target database the spawned CLI and the test both
 * see, a way to run the CLI as another user, landing files generated on disk, and the checks every drill
 * makes of a failure (exit code, one or two lines, no stack trace).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { expect } from 'vitest'
import { resolveSettings } from '../../src/config/settings.js'
import { connectWarehouse } from '../../src/warehouse/connection/connect.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions } from '../../src/warehouse/writing/partitions.js'
import { BIN, type CliResult, cleanEnv, runCli } from './cli.js'
import { TEST_DATABASE_URL } from './env.js'
import { type Target, targetEnv, uniqueSchema } from './warehouse.js'

/** The API key every drill sends: long and unusual, so a leak is found by a plain substring search. */
export const DRILL_KEY = 'drill-key-Zq81xVw6-never-print-me'
/** The answers' envelope time of every drill (a fixed instant: exact rows per observation). */
export const DRILL_NOW = Date.parse('2026-01-15T12:00:00.000Z')

const admin = postgres(TEST_DATABASE_URL, { max: 2, onnotice: () => {} })
const cleanups: (() => Promise<unknown>)[] = []

/** Undoes what the drills of a file made (schemas, folders, mounts); call it in `afterAll`. */
export async function cleanupDrills(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {})
  await admin.end()
}

/** Registers work for {@link cleanupDrills}. */
export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn)
}

/** The superuser connection to the test server, for looking at and killing the drill's backends. */
export function adminSql(): postgres.Sql {
  return admin
}

/** A target database for one drill, as the CLI sees it (`env`) and as the test looks inside it. */
export interface DrillTarget {
  target: Target
  schema: string
  env: Record<string, string>
  /** The embedded data directory (embedded target only). */
  dir?: string
  /** The `application_name` of the CLI's server connections: only this drill's backends carry it. */
  appName: string
  query<T>(text: string): Promise<T[]>
  count(table: string): Promise<number>
}

/**
 * A fresh schema (server) or copy of the template data directory (embedded), with the API settings of
 * `apiUrl`. On a server, the URL names a unique `application_name`, so a drill can find and terminate the
 * CLI's own backends without touching anyone else's on the shared server.
 */
export async function prepareTarget(target: Target, label: string, apiUrl?: string): Promise<DrillTarget> {
  const schema = uniqueSchema(`drill_${label}`)
  const appName = `drill_${schema}`
  const { env, dir } = await targetEnv(target, schema)
  if (target === 'server') env.DATABASE_URL = `${TEST_DATABASE_URL}?application_name=${appName}`
  Object.assign(env, { COINCAP_API_KEY: DRILL_KEY, CRYPTO_ETL_API_RETRIES: '0' })
  if (apiUrl) env.COINCAP_API_URL = apiUrl
  if (dir) onCleanup(() => rm(dir, { recursive: true, force: true }))
  else onCleanup(() => admin.unsafe(`drop schema if exists "${schema}" cascade`))
  const query = async <T>(text: string): Promise<T[]> => {
    if (target === 'server') {
      return (await admin.begin(async (tx) => {
        await tx.unsafe(`set local search_path to "${schema}"`)
        return tx.unsafe(text)
      })) as unknown as T[]
    }
    // The embedded database opens in one process at a time: open it between CLI runs, then let go.
    const warehouse = await connectWarehouse(resolveSettings({}, env), { lockWaitMs: 15_000 })
    try {
      return (await warehouse.sql.unsafe(text)) as unknown as T[]
    } finally {
      await warehouse.close()
    }
  }
  const count = async (table: string) =>
    Number((await query<{ n: number }>(`select count(*)::int as n from ${table}`)).at(-1)?.n)
  return { target, schema, env, dir, appName, query, count }
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

export interface SpawnOptions {
  env?: Record<string, string | undefined>
  timeoutMs?: number
  /** Run the CLI as this user (the test runs as root, which ignores file permissions). */
  user?: { uid: number; gid: number }
  onSpawn?: (child: ChildProcess) => void
}

/** Like `runCli`, but can drop privileges for the child: its HOME then belongs to that user. */
export async function runCliAs(args: string[], options: SpawnOptions = {}): Promise<CliResult> {
  const env = cleanEnv(options.env)
  if (options.user && env.HOME) await chown(env.HOME, options.user.uid, options.user.gid)
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.user ?? {}),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
    options.onSpawn?.(child)
  })
}

/** The `nobody` user, to run the CLI without root's disregard for permissions. */
export const NOBODY = { uid: 65534, gid: 65534 }

/** A temporary folder removed by {@link cleanupDrills}. */
export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `crypto-etl-drill-${label}-`))
  onCleanup(() => rm(dir, { recursive: true, force: true }))
  return dir
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
  const rows = await admin.unsafe(
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
export function sigtermOn(marker: string): (child: ChildProcess) => void {
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
  const warehouse = await connectWarehouse(resolveSettings({}, t.env), { lockWaitMs: 15_000 })
  try {
    await migrate(warehouse)
    const start = new Date(Math.floor(Date.now() / DAY) * DAY - DAYS * DAY)
    await ensurePartitions(warehouse.sql, t.schema, 'asset_snapshots', start, new Date())
    await warehouse.sql`
      insert into asset_snapshots (asset_id, observed_at, price_usd)
      select 'bitcoin', g, 1 from generate_series(${start}::timestamptz + interval '30 minutes', now(), interval '1 hour') g`
  } finally {
    await warehouse.close()
  }
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
