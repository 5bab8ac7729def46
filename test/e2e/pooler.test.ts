/**
 * The core commands through pgbouncer (Debian's, started here with its default settings) in session and
 * transaction mode: nothing may depend on a startup parameter (pgbouncer refuses search_path), a
 * session's state, or a prepared statement kept from one transaction to the next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { type CoreTarget, checkCoreCommands, coreTarget, errorLines, useCoreServers } from '../helpers/core-commands.js'
import { type Pgbouncer, type PoolMode, startPgbouncer } from '../helpers/pgbouncer.js'
import { Scratch } from '../helpers/scratch.js'

const FIXED_NOW = Date.parse('2026-01-15T12:00:00.000Z')
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

/** A fresh schema reached through `pooler`, with the CoinCap-like `api` behind it. */
function prepare(pooler: Pgbouncer, api: FixtureServer, label: string): CoreTarget {
  return coreTarget(scratch.admin, pooler.url, scratch.schema(`pooler_${label}`), api)
}

describe.each(['session', 'transaction'] as PoolMode[])('through pgbouncer in %s mode', (mode) => {
  let pooler: Pgbouncer
  beforeAll(async () => {
    // Session mode gives each client connection a backend of its own for its life: as many as a run holds.
    pooler = await startPgbouncer(mode, { poolSize: mode === 'session' ? 20 : 2 })
  })
  afterAll(async () => {
    await pooler?.stop()
  })
  const servers = useCoreServers(FIXED_NOW)

  it('migrates, runs twice, loads, backfills, queries, reports status and prunes', async () => {
    // status hung through a transaction pooler (prepared statements described outside a transaction).
    await checkCoreCommands(prepare(pooler, servers.api, mode), servers.history, 5)
  })

  it('runs two backfills at once, each loading all of its windows', async () => {
    const t = prepare(pooler, servers.api, `${mode}_backfills`)
    const backfill = (asset: string) =>
      runCli(['backfill', '--assets', asset, '--interval', 'h1', '--from', '2025-01-01', '--to', '2025-01-11'], {
        env: { ...t.env, COINCAP_API_URL: servers.history.url },
      })
    const [a, b] = await Promise.all([backfill('bitcoin'), backfill('ethereum')])
    expect([a.code, b.code], a.stderr + b.stderr).toEqual([0, 0])
    expect(await t.count('asset_history', "asset_id = 'bitcoin'")).toBe(240)
    expect(await t.count('asset_history', "asset_id = 'ethereum'")).toBe(240)
    expect(errorLines(a.stderr + b.stderr)).toEqual([])
  })

  it('takes a URL carrying pgbouncer=true and application_name, and names a setting the pooler refuses', async () => {
    const t = prepare(pooler, servers.api, `${mode}_params`)
    const url = new URL(pooler.url)
    url.searchParams.set('pgbouncer', 'true')
    url.searchParams.set('application_name', 'etl-cron')
    const migrated = await runCli(['migrate'], { env: { ...t.env, DATABASE_URL: url.toString() } })
    expect(migrated.code, migrated.stderr).toBe(0)
    const refused = new URL(pooler.url)
    refused.searchParams.set('options', '-c work_mem=8MB')
    const r = await runCli(['status'], { env: { ...t.env, DATABASE_URL: refused.toString() } })
    expect(r.code).toBe(74)
    expect(r.stderr).toBe(
      `Error: Cannot reach the database at 127.0.0.1:${pooler.port}/test: unsupported startup parameter: options (08P01).\n` +
        'A connection pooler refused the setting options: remove it from --database-url / DATABASE_URL.\n',
    )
  })
})
