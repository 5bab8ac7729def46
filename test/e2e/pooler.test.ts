/**
 * The core commands through pgbouncer (Debian's, started here with its default settings) in session and
 * transaction mode: nothing may depend on a startup parameter (pgbouncer refuses search_path), a
 * session's state, or a prepared statement kept from one transaction to the next.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { type HistoryServer, startHistoryServer } from '../helpers/history-server.js'
import { warehouseQuery } from '../helpers/inspect.js'
import { type Pgbouncer, type PoolMode, startPgbouncer } from '../helpers/pgbouncer.js'
import { uniqueSchema } from '../helpers/warehouse.js'

const FIXED_NOW = Date.parse('2026-01-15T12:00:00.000Z')
const API_KEY = 'e2e-pooler-key-2718'
const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} })
const schemas: string[] = []

afterAll(async () => {
  for (const schema of schemas) await admin.unsafe(`drop schema if exists "${schema}" cascade`)
  await admin.end()
})

/** A fresh schema reached through `pooler`, with the CoinCap-like `api` behind it. */
function prepare(pooler: Pgbouncer, api: FixtureServer, label: string) {
  const schema = uniqueSchema(`pooler_${label}`)
  schemas.push(schema)
  const env = {
    DATABASE_URL: pooler.url,
    CRYPTO_ETL_SCHEMA: schema,
    COINCAP_API_URL: api.url,
    COINCAP_API_KEY: API_KEY,
    CRYPTO_ETL_API_RETRIES: '0',
  }
  const query = warehouseQuery('server', admin, schema, env)
  const count = async (table: string, where = 'true') =>
    Number((await query<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`))[0]?.n)
  return { env, query, count }
}

/** What a command printed on stderr apart from its progress lines: nothing, for a clean run. */
const errors = (stderr: string) => stderr.split('\n').filter((l) => /^(Error|warn)/.test(l))

describe.each(['session', 'transaction'] as PoolMode[])('through pgbouncer in %s mode', (mode) => {
  let pooler: Pgbouncer
  let api: FixtureServer
  let history: HistoryServer

  beforeAll(async () => {
    // Session mode gives each client connection a backend of its own for its life: as many as a run holds.
    pooler = await startPgbouncer(mode, { poolSize: mode === 'session' ? 20 : 2 })
    api = await startFixtureServer({ now: () => FIXED_NOW })
    history = await startHistoryServer()
  })
  afterAll(async () => {
    await api?.close()
    await history?.close()
    await pooler?.stop()
  })

  it('migrates, runs twice, loads, backfills, queries, reports status and prunes', async () => {
    const t = prepare(pooler, api, mode)
    const migrated = await runCli(['migrate'], { env: t.env })
    expect(migrated.code).toBe(0)
    expect(migrated.stdout).toMatch(/^Applied \d+ migration\(s\) to schema t_pooler_/m)

    const first = await runCli(['run', '--json'], { env: t.env })
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([100, 14, 16])
    const second = await runCli(['run', '--json'], { env: t.env })
    expect(second.code, second.stderr).toBe(0)
    expect(JSON.parse(second.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([0, 0, 0])

    const landing = join(await mkdtemp(join(tmpdir(), 'crypto-etl-pooler-')), 'demo.ndjson')
    expect((await runCli(['extract', '--demo', '--output', landing], { env: t.env })).code).toBe(0)
    const loaded = await runCli(['load', landing, '--json'], { env: t.env })
    expect(loaded.code, loaded.stderr).toBe(0)
    await rm(dirname(landing), { recursive: true, force: true })

    const backfill = [
      'backfill',
      '--assets',
      'bitcoin',
      '--interval',
      'h1',
      '--from',
      '2025-01-01',
      '--to',
      '2025-01-03',
    ]
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
    expect(sql.stdout).toBe('n\n32\n') // 16 from the runs, 16 from the demo file

    // status hung through a transaction pooler (prepared statements described outside a transaction).
    for (let i = 0; i < 5; i++) {
      const status = await runCli(['status', '--json'], { env: t.env, timeoutMs: 20_000 })
      expect(status.code, status.stderr).toBe(0)
      expect(JSON.parse(status.stdout).runs).toHaveLength(4)
    }

    const pruned = await runCli(['prune', '--older-than', '30d', '--json'], { env: t.env })
    expect(pruned.code, pruned.stderr).toBe(0)
    // The runs' answers (January 2026) go; the demo file's, stamped when extracted, stay.
    expect(await t.count('asset_snapshots')).toBe(100)
    expect(await t.count('rate_snapshots')).toBe(16)
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
    for (const r of [migrated, first, second, loaded, filled, latest, pruned]) expect(errors(r.stderr)).toEqual([])
  })

  it('runs two backfills at once, each loading all of its windows', async () => {
    const t = prepare(pooler, api, `${mode}_backfills`)
    const backfill = (asset: string) =>
      runCli(['backfill', '--assets', asset, '--interval', 'h1', '--from', '2025-01-01', '--to', '2025-01-11'], {
        env: { ...t.env, COINCAP_API_URL: history.url },
      })
    const [a, b] = await Promise.all([backfill('bitcoin'), backfill('ethereum')])
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0])
    expect(await t.count('asset_history', "asset_id = 'bitcoin'")).toBe(240)
    expect(await t.count('asset_history', "asset_id = 'ethereum'")).toBe(240)
    expect(errors(a.stderr + b.stderr)).toEqual([])
  })
})
