import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { type CliWarehouse, Scratch } from '../helpers/scratch.js'
import { useCoincapPerTest } from '../helpers/use-coincap.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'

const FIXED_NOW = Date.parse('2026-01-15T12:00:00.000Z')
const API_KEY = 'e2e-secret-key-4711'
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

/** The environment of one test: a fresh schema (server) or data directory (embedded), and a way to look inside. */
function prepare(target: Target, server: FixtureServer) {
  return scratch.warehouse(target, `run_${target}`, {
    COINCAP_API_URL: server.url,
    COINCAP_API_KEY: API_KEY,
    CRYPTO_ETL_API_RETRIES: '1',
  })
}

describe.each(TARGETS)('run on the %s database', (target) => {
  const api = useCoincapPerTest({ now: () => FIXED_NOW })

  it('lands exactly the 100 assets, all exchanges and all rates of one answer, and a second identical run adds nothing', async () => {
    const t = await prepare(target, api.server)
    const first = await runCli(['run', '--json'], { env: t.env })
    expect(first.code).toBe(0)
    const result = JSON.parse(first.stdout)
    expect(result.status).toBe('ok')
    expect(result.datasets.map((d: { dataset: string; rows: number }) => [d.dataset, d.rows])).toEqual([
      ['assets', 100],
      ['exchanges', 14],
      ['rates', 16],
    ])
    // The datasets are fetched concurrently: exactly these three requests, in whatever order they arrived.
    expect([...api.server.requests].sort()).toEqual([
      '/v3/assets?limit=100&offset=0',
      '/v3/exchanges?limit=2000&offset=0',
      '/v3/rates',
    ])
    const second = await runCli(['run', '--json'], { env: t.env })
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([0, 0, 0])
    expect(await t.count('asset_snapshots')).toBe(100)
    expect(await t.count('exchange_snapshots')).toBe(14)
    expect(await t.count('rate_snapshots')).toBe(16)
    const runs = await t.query<{ status: string; rows: Record<string, number> | string; api_requests: number }>(
      'select status, rows, api_requests from etl_runs order by run_id',
    )
    expect(
      runs.map((r) => [r.status, typeof r.rows === 'string' ? JSON.parse(r.rows) : r.rows, r.api_requests]),
    ).toEqual([
      ['ok', { assets: 100, exchanges: 14, rates: 16 }, 3],
      ['ok', { assets: 0, exchanges: 0, rates: 0 }, 3],
    ])
  })

  it('keeps the API strings digit for digit and turns exchange updated=0 into a null updated_at', async () => {
    const t = await prepare(target, api.server)
    expect((await runCli(['run', '--datasets', 'assets,exchanges'], { env: t.env })).code).toBe(0)
    const [btc] = await t.query<Record<string, string>>(
      `select price_usd::text as price, supply::text as supply, max_supply::text as max_supply, rank,
        observed_at = '2026-01-15T12:00:00Z' as at from asset_snapshots where asset_id = 'bitcoin'`,
    )
    expect(btc).toMatchObject({
      price: '80399.570000000006984919',
      supply: '20026871.000000000000000000',
      max_supply: '21000000.000000000000000000',
      at: true,
    })
    const [dim] = await t.query<{ symbol: string; tokens: string }>(
      `select symbol, jsonb_typeof(tokens) as tokens from assets where asset_id = 'bitcoin'`,
    )
    expect(dim).toEqual({ symbol: 'BTC', tokens: 'object' })
    const [itbit] = await t.query<{ updated_at: string | null }>(
      `select updated_at from exchange_snapshots where exchange_id = 'itbit'`,
    )
    expect(itbit?.updated_at).toBeNull()
  })
})

describe('run and load on the server', () => {
  let server: FixtureServer
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crypto-etl-e2e-'))
  })
  afterEach(async () => {
    await server?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('gives the same rows from extract then load, twice, as from one run', async () => {
    server = await startFixtureServer({ now: () => FIXED_NOW })
    const viaRun = await prepare('server', server)
    const viaFiles = await prepare('server', server)
    expect((await runCli(['run'], { env: viaRun.env })).code).toBe(0)
    const file = join(dir, 'snapshot.ndjson.gz')
    const extracted = await runCli(['extract', '--output', file], { env: viaFiles.env })
    expect(extracted.code).toBe(0)
    for (let i = 0; i < 2; i++) expect((await runCli(['load', file], { env: viaFiles.env })).code).toBe(0)
    const snapshot = (t: CliWarehouse) =>
      t.query(`select asset_id, observed_at, price_usd::text from asset_snapshots order by asset_id`)
    expect(await snapshot(viaFiles)).toEqual(await snapshot(viaRun))
    expect(await viaFiles.count('exchange_snapshots')).toBe(14)
    expect(await viaFiles.count('rate_snapshots')).toBe(16)
  })

  it('loads a landing file from stdin', async () => {
    server = await startFixtureServer({ now: () => FIXED_NOW })
    const t = await prepare('server', server)
    const extracted = await runCli(['extract', '--datasets', 'rates'], { env: t.env })
    expect(extracted.code).toBe(0)
    expect(extracted.stdout.trim().split('\n')).toHaveLength(1)
    const loaded = await runCli(['load', '-', '--json'], { env: t.env, input: extracted.stdout })
    expect(loaded.code).toBe(0)
    expect(JSON.parse(loaded.stdout)).toMatchObject({ lines: 1, rows: { rates: 16 }, rejected: 0 })
    expect(await t.count('rate_snapshots')).toBe(16)
  })

  it('leaves no output file when extract fails', async () => {
    server = await startFixtureServer()
    const t = await prepare('server', server)
    await server.close()
    const file = join(dir, 'never.ndjson')
    const r = await runCli(['extract', '--output', file], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '0' } })
    expect(r.code).toBe(69)
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(readFile(`${file}.partial`)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('keeps a bad record in rejected_records and loads the rest of its page', async () => {
    const fixture = JSON.parse(await readFile(new URL('../../fixtures/coincap/assets.json', import.meta.url), 'utf8'))
    fixture.data[1].priceUsd = 2942.23 // a number where CoinCap sends a string
    server = await startFixtureServer({
      now: () => FIXED_NOW,
      intercept: (_req, res, url) => {
        if (url.pathname !== '/v3/assets') return false
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ data: fixture.data, timestamp: FIXED_NOW }))
        return true
      },
    })
    const t = await prepare('server', server)
    const r = await runCli(['run', '--datasets', 'assets', '--json'], { env: t.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).datasets[0]).toMatchObject({ rows: 99, records: 100, rejected: 1 })
    const rejected = await t.query<{ dataset: string; reason: string; id: string }>(
      `select dataset, reason, record->>'id' as id from rejected_records`,
    )
    expect(rejected).toEqual([
      { dataset: 'assets', reason: 'priceUsd: Invalid input: expected string, received number', id: 'ethereum' },
    ])
  })

  it('refuses a landing file with a broken line (exit 65) and loads nothing from it', async () => {
    server = await startFixtureServer({ now: () => FIXED_NOW })
    const t = await prepare('server', server)
    const file = join(dir, 'broken.ndjson')
    expect((await runCli(['extract', '--datasets', 'rates,assets', '--output', file], { env: t.env })).code).toBe(0)
    await writeFile(file, `${await readFile(file, 'utf8')}{"dataset":"rates","timestamp":1,"data":[\n`)
    const r = await runCli(['load', file], { env: t.env })
    expect(r.code).toBe(65)
    expect(r.stderr).toContain(`broken.ndjson line 3: not valid JSON. Nothing from this file was loaded.`)
    expect(await t.count('rate_snapshots')).toBe(0)
    expect(await t.count('asset_snapshots')).toBe(0)
  })

  it('skips a second run while the first holds the lock, exiting 0 and recording it', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    server = await startFixtureServer({
      now: () => FIXED_NOW,
      intercept: async (_req, _res, url) => {
        if (url.pathname === '/v3/rates') await held // the first run waits here, holding the lock
        return false
      },
    })
    const t = await prepare('server', server)
    let firstPid = 0
    const first = runCli(['run'], { env: t.env, onSpawn: (child) => (firstPid = child.pid!) })
    await waitFor(async () => server.requests.includes('/v3/rates'))
    const second = await runCli(['run'], { env: t.env })
    release()
    expect(second.code).toBe(0)
    // The skip names the run that holds the lock, its start, process and host.
    const skip =
      /^warn: skipped: run (\d+) \(started \d\d:\d\d:\d\d UTC, pid (\d+) on host \S+\) holds the lock \(recorded as run (\d+)\)$/m.exec(
        second.stderr,
      )
    expect((await first).code).toBe(0)
    const runs = await t.query<{ run_id: string; status: string; error: string | null }>(
      'select run_id, status, error from etl_runs order by run_id',
    )
    expect(runs.map((r) => r.status)).toEqual(['ok', 'skipped'])
    expect(skip?.slice(1)).toEqual([runs[0]!.run_id, String(firstPid), runs[1]!.run_id])
    expect(runs[1]!.error).toMatch(new RegExp(`^run ${runs[0]!.run_id} \\(started .*\\) holds the lock$`))
  })

  it('stops on SIGTERM with exit 143, keeping loaded datasets and rolling back the rest', async () => {
    server = await startFixtureServer({
      now: () => FIXED_NOW,
      intercept: (_req, _res, url) => url.pathname === '/v3/exchanges', // never answers
    })
    const t = await prepare('server', server)
    const r = await runCli(['run'], {
      env: t.env,
      onSpawn: (child) => {
        void waitFor(async () => (await t.count('asset_snapshots')) === 100).then(() => child.kill('SIGTERM'))
      },
    })
    expect(r.code).toBe(143)
    expect(await t.count('asset_snapshots')).toBe(100)
    expect(await t.count('exchange_snapshots')).toBe(0)
    expect(await t.count('rate_snapshots')).toBe(0)
    const [run] = await t.query<{ status: string }>('select status from etl_runs')
    expect(run?.status).toBe('interrupted')
  })

  it('exits 69 in bounded time when the API is dead', async () => {
    server = await startFixtureServer({ now: () => FIXED_NOW })
    const t = await prepare('server', server)
    await server.close() // nothing listens on the port any more
    const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '2' } })
    expect(r.code).toBe(69)
    expect(r.ms).toBeLessThan(20_000)
    expect(r.stderr).toMatch(/^Error: .*rates.*$/m)
  })

  it('exits 77 on a rejected key without echoing it', async () => {
    server = await startFixtureServer({
      intercept: (_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' }).end(`{"error":"invalid key ${API_KEY}"}`)
        return true
      },
    })
    const t = await prepare('server', server)
    const r = await runCli(['run', '--verbose', '--datasets', 'rates'], { env: t.env })
    expect(r.code).toBe(77)
    expect(r.stderr).toContain('COINCAP_API_KEY')
    expect(r.stdout + r.stderr).not.toContain(API_KEY)
    expect(server.requests).toHaveLength(1)
    const [run] = await t.query<{ status: string; error: string }>('select status, error from etl_runs')
    expect(run?.status).toBe('failed')
    expect(run?.error).not.toContain(API_KEY)
  })

  it('exits 77 with a hint naming COINCAP_API_KEY when no key is set', async () => {
    server = await startFixtureServer()
    const t = await prepare('server', server)
    const r = await runCli(['run'], { env: { ...t.env, COINCAP_API_KEY: undefined } })
    expect(r.code).toBe(77)
    expect(r.stderr).toContain('COINCAP_API_KEY')
    expect(server.requests).toHaveLength(0)
  })
})

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('condition not met in time')
}
