/**
 * The core commands, one after the other, against one target (a schema on a server, reached directly or
 * through a pooler), each checked by its exit code and the rows it left: migrate, run twice, extract and
 * load, backfill, query (a report and --sql), status, prune.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type postgres from 'postgres'
import { afterAll, beforeAll, expect } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli } from './cli.js'
import { type HistoryServer, startHistoryServer } from './history-server.js'
import { warehouseQuery } from './inspect.js'

/** The CoinCap-like servers the core commands need: `api` answers at `now`, `history` serves price history. */
export interface CoreServers {
  api: FixtureServer
  history: HistoryServer
}

/** {@link CoreServers} started before the tests of the calling block and closed after them. */
export function useCoreServers(now: number): CoreServers {
  const servers = {} as CoreServers
  beforeAll(async () => {
    servers.api = await startFixtureServer({ now: () => now })
    servers.history = await startHistoryServer()
  })
  afterAll(async () => {
    await servers.api?.close()
    await servers.history?.close()
  })
  return servers
}

export interface CoreTarget {
  env: Record<string, string>
  query<T>(text: string): Promise<T[]>
  count(table: string, where?: string): Promise<number>
}

/**
 * The schema `schema` of the server at `url` as a target, with the CoinCap-like `api` behind it; `admin`
 * is a connection to the same server (direct), to look inside.
 */
export function coreTarget(admin: postgres.Sql, url: string, schema: string, api: FixtureServer): CoreTarget {
  const env = {
    DATABASE_URL: url,
    CRYPTO_ETL_SCHEMA: schema,
    COINCAP_API_URL: api.url,
    COINCAP_API_KEY: 'e2e-core-key-2718',
    CRYPTO_ETL_API_RETRIES: '0',
  }
  const query = warehouseQuery('server', admin, schema, env)
  const count = async (table: string, where = 'true') =>
    Number((await query<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`))[0]?.n)
  return { env, query, count }
}

/** What a command printed on stderr apart from its progress lines: nothing, for a clean run. */
export const errorLines = (stderr: string) => stderr.split('\n').filter((l) => /^(Error|warn)/.test(l))

/**
 * Runs the core commands against `t` (a fresh schema; `api` answers as of 2026-01-15, `history` serves the
 * backfill) and checks each. `status` runs `statusTries` times: through a pooler it used to hang.
 */
export async function checkCoreCommands(t: CoreTarget, history: HistoryServer, statusTries = 1): Promise<void> {
  const migrated = await runCli(['migrate'], { env: t.env })
  expect(migrated.code).toBe(0)
  expect(migrated.stdout).toMatch(/^Applied \d+ migrations? to \S+ schema t_/m)

  const first = await runCli(['run', '--json'], { env: t.env })
  expect(first.code, first.stderr).toBe(0)
  expect(JSON.parse(first.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([100, 14, 16])
  const second = await runCli(['run', '--json'], { env: t.env })
  expect(second.code, second.stderr).toBe(0)
  expect(JSON.parse(second.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([0, 0, 0])

  // The same answers as the runs': loading them changes nothing.
  const landing = join(await mkdtemp(join(tmpdir(), 'crypto-etl-core-')), 'snapshot.ndjson')
  expect((await runCli(['extract', '--output', landing], { env: t.env })).code).toBe(0)
  const loaded = await runCli(['load', landing], { env: t.env })
  expect(loaded.code, loaded.stderr).toBe(0)
  await rm(dirname(landing), { recursive: true, force: true })

  const backfill = ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '2025-01-01', '--to', '2025-01-03']
  const filled = await runCli([...backfill, '--api-url', history.url], { env: t.env })
  expect(filled.code, filled.stderr).toBe(0)
  expect(await t.count('asset_history', "asset_id = 'bitcoin'")).toBe(48)

  const latest = await runCli(['query', 'latest', '--format', 'json', '--limit', '3'], { env: t.env })
  expect(latest.code, latest.stderr).toBe(0)
  expect(JSON.parse(latest.stdout).map((r: { rank: number }) => Number(r.rank))).toEqual([1, 2, 3])
  const sql = await runCli(['query', '--sql', 'select count(*)::int as n from rate_snapshots', '--format', 'csv'], {
    env: t.env,
  })
  expect(sql.code, sql.stderr).toBe(0)
  expect(sql.stdout).toBe('n\n16\n')

  for (let i = 0; i < statusTries; i++) {
    const status = await runCli(['status', '--json'], { env: t.env, timeoutMs: 20_000 })
    expect(status.code, status.stderr).toBe(0)
    expect(JSON.parse(status.stdout).runs).toHaveLength(4)
  }

  const pruned = await runCli(['prune', '--older-than', '30d', '--json'], { env: t.env })
  expect(pruned.code, pruned.stderr).toBe(0)
  // The answers of 2026-01-15 are older than 30 days; history is only pruned when named.
  expect(await t.count('asset_snapshots')).toBe(0)
  expect(await t.count('rate_snapshots')).toBe(0)
  expect(await t.count('asset_history')).toBe(48)
  const runs = await t.query<{ command: string; status: string }>(
    'select split_part(command, $$ $$, 1) as command, status from etl_runs order by run_id',
  )
  expect(runs.map((r) => [r.command, r.status])).toEqual([
    ['run', 'ok'],
    ['run', 'ok'],
    ['load', 'ok'],
    ['backfill', 'ok'],
    ['prune', 'ok'],
  ])
  for (const r of [migrated, first, second, loaded, filled, latest, pruned]) expect(errorLines(r.stderr)).toEqual([])
}
