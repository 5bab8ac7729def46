/**
 * How a `run` that is not `ok` ends: the exit code that tells the user what to do (77 for a refused key or
 * spent credits in any dataset, 2 for `--assets` ids CoinCap does not know, 3 for a partial run), with
 * `--json` printing the whole result beside the error.
 */
import type { ServerResponse } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { startHistoryServer } from '../helpers/history-server.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'

const API_KEY = 'e2e-endings-key-5521'
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

type Intercept = (url: URL, res: ServerResponse) => boolean

/** A fresh schema or data directory, and a CoinCap-like server whose answers `intercept` may replace. */
async function prepare(target: Target, intercept: Intercept = () => false) {
  const server = await scratch.coincap({ intercept: (_req, res, url) => intercept(url, res) })
  return { server, ...(await warehouseFor(target, server)) }
}

function warehouseFor(target: Target, server: { url: string }) {
  return scratch.warehouse(target, `endings_${target}`, {
    COINCAP_API_URL: server.url,
    COINCAP_API_KEY: API_KEY,
    CRYPTO_ETL_API_RETRIES: '0',
  })
}

function answer(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  return true
}

/** The ways CoinCap may refuse a key or say the credits are spent. */
const REFUSALS = [
  { status: 401, body: { error: 'Invalid API key' } },
  { status: 403, body: { error: 'Forbidden' } },
  { status: 402, body: { error: 'Payment required' } },
  { status: 429, body: { error: 'Monthly credits exhausted, upgrade your plan' } },
]

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('Error: '))

describe.each(TARGETS)('run endings on the %s database', (target) => {
  it('returns the whole result of a partial run with --json, the error inside it, and exits 3', async () => {
    const t = await prepare(target, (url, res) => url.pathname === '/v3/exchanges' && answer(res, 400, { error: 'x' }))
    const r = await runCli(['run', '--json'], { env: t.env })
    expect(r.code).toBe(3)
    // The error is in the result: no error line besides it.
    expect(errorLines(r.stderr)).toEqual([])
    const result = JSON.parse(r.stdout)
    expect(result.status).toBe('partial')
    expect(result.datasets).toEqual([
      { dataset: 'assets', status: 'ok', rows: 100, records: 100, rejected: 0 },
      {
        dataset: 'exchanges',
        status: 'failed',
        rows: 0,
        records: 0,
        rejected: 0,
        error: 'CoinCap rejected the query GET /exchanges?limit=2000&offset=0 (CoinCap answered 400: x).',
      },
      { dataset: 'rates', status: 'ok', rows: expect.any(Number), records: expect.any(Number), rejected: 0 },
    ])
    expect(result.datasets[2].rows).toBeGreaterThan(0)
    expect(result.error).toEqual({
      name: 'PartialError',
      message: `Partial run ${result.runId}: exchanges failed (${result.datasets[1].error}).`,
      hint: 'The other datasets were loaded; the next run may heal it.',
      exitCode: 3,
    })
    expect(result.target).toEqual(expect.any(String))
    expect(result.api.requests).toBe(3)
    const [run] = await t.query<{ run_id: string; status: string; error: string }>(
      'select run_id, status, error from etl_runs',
    )
    expect(run).toEqual({
      run_id: String(result.runId),
      status: 'partial',
      error: `exchanges: ${result.datasets[1].error}`,
    })
  })

  it('masks every secret of the command in the stored error, the --json result and the error line', async () => {
    // A server that echoes the database password: only the command knows it is one, not the CoinCap client.
    const password = 'endings-pw-4471'
    const t = await prepare(
      target,
      (url, res) => url.pathname === '/v3/rates' && answer(res, 400, { error: `no ${password} for ${API_KEY}` }),
    )
    const env = { ...t.env, PGPASSWORD: password }
    const json = await runCli(['run', '--json'], { env })
    const text = await runCli(['run', '--log-format', 'json'], { env })
    expect([json.code, text.code]).toEqual([3, 3])
    expect(JSON.parse(json.stdout).datasets[2].error).toMatch(/\(CoinCap answered 400: no \*\*\* for \*\*\*\)\.$/)
    const errorLine = JSON.parse(text.stderr.trim().split('\n').at(-1)!)
    expect(errorLine).toMatchObject({ level: 'error', status: 'partial', exit_code: 3 })
    expect(errorLine.msg).toMatch(/rates failed \(.*: no \*\*\* for \*\*\*\)\.\)\.$/)
    const runs = await t.query<{ status: string; error: string }>('select status, error from etl_runs order by run_id')
    expect(runs.map((r) => r.status)).toEqual(['partial', 'partial'])
    for (const run of runs) expect(run.error).toMatch(/^rates: .*: no \*\*\* for \*\*\*\)\.$/)
    for (const output of [json.stdout, json.stderr, text.stdout, text.stderr, JSON.stringify(runs)]) {
      expect(output).not.toContain(password)
      expect(output).not.toContain(API_KEY)
    }
  })

  it('prints the summary line before the error of a partial run without --json', async () => {
    const t = await prepare(target, (url, res) => url.pathname === '/v3/rates' && answer(res, 400, { error: 'x' }))
    const r = await runCli(['run'], { env: t.env })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(
      /^run \d+ partial in [\d.]+s: assets \+100, exchanges \+\d+, rates failed; 0 rejected; 3 requests/m,
    )
    expect(errorLines(r.stderr)).toHaveLength(1)
  })

  it.each(REFUSALS)('exits 77 when CoinCap answers $status for one dataset, keeping the others', async (refusal) => {
    const t = await prepare(
      target,
      (url, res) => url.pathname === '/v3/rates' && answer(res, refusal.status, refusal.body),
    )
    const r = await runCli(['run', '--json'], { env: t.env })
    expect(r.code).toBe(77)
    const result = JSON.parse(r.stdout)
    expect(result.error.exitCode).toBe(77)
    expect(result.error.message).not.toContain('next run')
    expect(result.status).toBe('partial')
    expect(await t.count('asset_snapshots')).toBe(100)
    expect(await t.count('rate_snapshots')).toBe(0)
    // Refusals are not retried, even 429: the key, not the pace, is the problem.
    expect(t.server.requests.filter((p) => p.startsWith('/v3/rates'))).toHaveLength(1)
    const [run] = await t.query<{ status: string; error: string }>('select status, error from etl_runs')
    expect(run?.status).toBe('partial')
    expect(run?.error).toMatch(/^rates: CoinCap (refused|rejected) the API key/)
  })

  it('loads the known --assets ids, reports the unknown one and exits 2 (left out of the answer)', async () => {
    const t = await prepare(target)
    const r = await runCli(['run', '--datasets', 'assets,rates', '--assets', 'bitcoin,nosuchcoin,ethereum', '--json'], {
      env: t.env,
    })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("warn: CoinCap does not know asset 'nosuchcoin': left out, the others load")
    const result = JSON.parse(r.stdout)
    expect(result.unknownAssets).toEqual(['nosuchcoin'])
    expect(result.status).toBe('partial')
    expect(result.error.message).toBe(
      `CoinCap does not know asset 'nosuchcoin': run ${result.runId} loaded the other assets.`,
    )
    const ids = await t.query<{ asset_id: string }>('select asset_id from asset_snapshots order by asset_id')
    expect(ids.map((row) => row.asset_id)).toEqual(['bitcoin', 'ethereum'])
    expect(await t.count('rate_snapshots')).toBeGreaterThan(0)
    const [run] = await t.query<{ status: string; error: string }>('select status, error from etl_runs')
    expect(run).toEqual({
      status: 'partial',
      error: "CoinCap does not know asset 'nosuchcoin': left out, the other assets loaded",
    })
  })
})

describe('run endings on the server, more siblings', () => {
  it('finds unknown ids by halves when CoinCap answers 404 for the whole ids= request', async () => {
    const unknown = new Set(['delisted-coin', 'nosuchcoin'])
    const t = await prepare('server', (url, res) => {
      const ids = url.searchParams.get('ids')?.split(',') ?? []
      const bad = ids.find((id) => unknown.has(id))
      return bad !== undefined && answer(res, 404, { error: `${bad} not found`, timestamp: Date.now() })
    })
    const asked = ['bitcoin', 'delisted-coin', 'ethereum', 'tether', 'nosuchcoin']
    const r = await runCli(['run', '--datasets', 'assets', '--assets', asked.join(','), '--json'], { env: t.env })
    expect(r.code).toBe(2)
    expect(JSON.parse(r.stdout).unknownAssets.sort()).toEqual(['delisted-coin', 'nosuchcoin'])
    const ids = await t.query<{ asset_id: string }>('select asset_id from asset_snapshots order by asset_id')
    expect(ids.map((row) => row.asset_id)).toEqual(['bitcoin', 'ethereum', 'tether'])
    // 5 ids: the whole, then [3] and [2], then each half that still held an unknown id.
    expect(t.server.requests.length).toBeLessThanOrEqual(9)
  })

  it('exits 0 and reports nothing when every --assets id is known', async () => {
    const t = await prepare('server')
    const r = await runCli(['run', '--datasets', 'assets', '--assets', 'bitcoin,ethereum', '--json'], { env: t.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'ok', unknownAssets: [] })
  })

  it('returns the whole result of a partial backfill with --json, the error inside it, and exits 3', async () => {
    const server = await startHistoryServer({ fault: (q) => (q.asset === 'ethereum' ? 503 : undefined) })
    scratch.onCleanup(() => server.close())
    const t = await warehouseFor('server', server)
    const range = ['--interval', 'd1', '--from', '2025-01-01', '--to', '2025-02-01']
    const r = await runCli(['backfill', '--assets', 'bitcoin,ethereum', ...range, '--json'], { env: t.env })
    expect(r.code).toBe(3)
    // The error is in the result: no error line besides it.
    expect(errorLines(r.stderr)).toEqual([])
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ status: 'partial', rows: 31, interval: 'd1' })
    expect(result.assets).toMatchObject([
      { asset: 'bitcoin', status: 'ok', rows: 31, windows: { planned: 1, done: 1, failed: 0 } },
      { asset: 'ethereum', rows: 0, windows: { planned: 1, done: 0, failed: 1 } },
    ])
    expect(result.error).toMatchObject({ name: 'PartialError', exitCode: 3 })
    expect(result.error.message).toMatch(
      /^Partial backfill \(run \d+\): 1 windows loaded, 1 failed \(first: ethereum 2025-01-01T00:00:00.000Z\.\./,
    )
    const [run] = await t.query<{ run_id: string; status: string }>('select run_id, status from etl_runs')
    expect(run).toEqual({ run_id: String(result.runId), status: 'partial' })
    expect(await t.count('asset_history')).toBe(31)
  })

  it.each([402, 403])(
    'backfill exits 77 when a window is answered %i, printing its result with --json',
    async (status) => {
      const server = await startHistoryServer({
        fault: (q) => (q.asset === 'ethereum' ? status : undefined),
      })
      scratch.onCleanup(() => server.close())
      const t = await warehouseFor('server', server)
      const r = await runCli(
        'backfill --assets bitcoin,ethereum --interval d1 --from 2025-01-01 --to 2025-02-01 --json'.split(' '),
        { env: t.env },
      )
      expect(r.code).toBe(77)
      const result = JSON.parse(r.stdout)
      expect(result.error.exitCode).toBe(77)
      expect(result.assets.map((a: { asset: string }) => a.asset)).toEqual(['bitcoin', 'ethereum'])
      expect(await t.count('asset_history')).toBe(31)
    },
  )
})
