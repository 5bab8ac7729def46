/**
 * Fault drills of the source: a real local CoinCap-like server that answers 429s, 5xx storms, HTML error
 * pages, truncated bodies, drifted schemas, oversized answers, or nothing at all, and the built CLI's
 * exit code, request count, rows and etl_runs row for each.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { runCli } from '../../helpers/cli.js'
import {
  cleanupDrills,
  DRILL_NOW,
  type DrillTarget,
  errorBlock,
  expectCleanFailure,
  fixture,
  prepareTarget,
} from '../../helpers/drills.js'
import { TARGETS, type Target } from '../../helpers/warehouse.js'

type Intercept = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>

const servers: FixtureServer[] = []
afterAll(async () => {
  for (const s of servers) await s.close()
  await cleanupDrills()
})

/** A fixture server with `intercept`, and a target pointed at it (tests run concurrently: each has its own). */
async function setup(
  target: Target,
  label: string,
  intercept?: Intercept,
): Promise<DrillTarget & { server: FixtureServer; gapsMs: () => number[]; arrivals: () => number[] }> {
  const arrivals: number[] = []
  const server = await startFixtureServer({
    now: () => DRILL_NOW,
    intercept: (req, res, url) => {
      arrivals.push(Date.now())
      return intercept?.(req, res, url) ?? false
    },
  })
  servers.push(server)
  const gapsMs = () => arrivals.slice(1).map((at, i) => at - arrivals[i]!)
  // When each request reached the server: timing checks free of the time the CLI takes to start on a busy machine.
  const arrivalTimes = () => [...arrivals]
  return { ...(await prepareTarget(target, label, server.url)), server, gapsMs, arrivals: arrivalTimes }
}

/** The waits the CLI chose between attempts, from its JSON log lines on stderr. */
function retryWaits(stderr: string): number[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; waitMs?: number })
    .filter((entry) => entry.msg === 'CoinCap request failed; retrying')
    .map((entry) => entry.waitMs!)
}

/**
 * The bound of a retried call, proved without a stopwatch (a busy machine slows everything): the CLI waited
 * each backoff within its jittered range (1 s doubling: [0.5 s, 1 s], then [1 s, 2 s]), the server saw the
 * attempts at least that far apart, and the whole command ended well within 20 s.
 */
/**
 * The client's waits: `retries` of them, each within its exponential ceiling, seen by the server as gaps; and the
 * process ends within those waits, `attemptMs` per attempt (a hung answer's timeout) and a margin for closing,
 * counted from the first request so that the process's start on a busy machine is not part of the bound.
 */
function expectBackoffs(
  t: { gapsMs: () => number[]; arrivals: () => number[] },
  r: { stderr: string },
  retries: number,
  attemptMs = 0,
) {
  const exitedAt = Date.now()
  const waits = retryWaits(r.stderr)
  expect(waits).toHaveLength(retries)
  waits.forEach((wait, i) => {
    const ceiling = 1000 * 2 ** i
    expect(wait).toBeGreaterThanOrEqual(ceiling / 2)
    expect(wait).toBeLessThanOrEqual(ceiling)
  })
  t.gapsMs().forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(waits[i]! - 5))
  const bound = waits.reduce((sum, wait) => sum + wait, 0) + (retries + 1) * attemptMs + CLOSING_MARGIN_MS
  expect(exitedAt - t.arrivals()[0]!).toBeLessThan(bound)
}

/** From the last answer to the process's end: the run recorded, the database closed (seconds on a loaded machine). */
const CLOSING_MARGIN_MS = 8_000

const requests = (server: FixtureServer, path: string) => server.requests.filter((r) => r.split('?')[0] === path)

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
  return true
}

const HTML_503 =
  '<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n<body><h1>503</h1><p>cdn-edge-7 says: origin unreachable</p></body></html>\n'

async function runStatus(t: DrillTarget): Promise<{ status: string; error: string | null; api_requests: number }[]> {
  return t.query('select status, error, api_requests from etl_runs order by run_id')
}

describe.concurrent.each(TARGETS)('source faults on the %s database', (target) => {
  it('waits out a 429 with Retry-After: 1, then loads: exit 0, two requests, one second waited', async () => {
    let calls = 0
    const t = await setup(target, 'retry_after', (_req, res, url) => {
      if (url.pathname !== '/v3/rates' || calls++ > 0) return false
      return json(res, 429, { error: 'rate limited' }, { 'retry-after': '1' })
    })
    const r = await runCli(['run', '--datasets', 'rates', '--json'], {
      env: { ...t.env, CRYPTO_ETL_API_RETRIES: '2' },
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).api).toMatchObject({ requests: 2, retries: 1, waitedMs: 1000 })
    expect(requests(t.server, '/v3/rates')).toHaveLength(2)
    expect(await t.count('rate_snapshots')).toBe(16)
    expect((await runStatus(t)).map((x) => [x.status, x.api_requests])).toEqual([['ok', 2]])
  })

  it('keeps every record of a field renamed upstream in rejected_records and loads nothing of them: exit 0', async () => {
    const assets = await fixture('assets')
    const drifted = assets.data.map(({ priceUsd, ...rest }) => ({ ...rest, price_usd: priceUsd }))
    const t = await setup(target, 'renamed', (_req, res, url) =>
      url.pathname === '/v3/assets' ? json(res, 200, { data: drifted, timestamp: DRILL_NOW }) : false,
    )
    const r = await runCli(['run', '--datasets', 'assets', '--json'], { env: t.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).datasets).toEqual([
      { dataset: 'assets', status: 'ok', rows: 0, records: 100, rejected: 100 },
    ])
    expect(await t.count('asset_snapshots')).toBe(0)
    const reasons = await t.query<{ reason: string; n: number }>(
      'select reason, count(*)::int as n from rejected_records group by reason',
    )
    expect(reasons).toEqual([{ reason: 'priceUsd: Invalid input: expected string, received undefined', n: 100 }])
  })
})

describe.concurrent('source faults (server database)', () => {
  it('gives up on a 5xx storm after the retries: exit 69, three requests, nothing loaded, run failed', async () => {
    const statuses = [500, 502, 503]
    let calls = 0
    const t = await setup('server', 'storm', (_req, res) => json(res, statuses[calls++ % 3]!, { error: 'upstream' }))
    const r = await runCli(['run', '--datasets', 'rates', '--log-format', 'json'], {
      env: { ...t.env, CRYPTO_ETL_API_RETRIES: '2' },
    })
    const [line] = expectCleanFailure(r, 69)
    expect(line).toBe('Error: CoinCap is unavailable: GET /rates failed 3 times; last: CoinCap answered 503: upstream.')
    expectBackoffs(t, r, 2)
    expect(t.server.requests).toEqual(['/v3/rates', '/v3/rates', '/v3/rates'])
    expect(await t.count('rate_snapshots')).toBe(0)
    const [run] = await runStatus(t)
    expect([run?.status, run?.api_requests]).toEqual(['failed', 3])
  })

  it('loads an answer ten times larger than usual exactly: 1,000 assets and 140 exchanges, exit 0', async () => {
    const assets = (await fixture('assets')).data
    const exchanges = (await fixture('exchanges')).data
    const many = Array.from({ length: 1000 }, (_, i) => ({
      ...assets[i % 100]!,
      id: `${assets[i % 100]!.id}-${Math.floor(i / 100)}`,
      rank: String(i + 1),
    }))
    const moreExchanges = Array.from({ length: 140 }, (_, i) => ({
      ...exchanges[i % 14]!,
      exchangeId: `${exchanges[i % 14]!.exchangeId}-${Math.floor(i / 14)}`,
      rank: String(i + 1),
    }))
    const page = (records: unknown[], url: URL) => {
      const offset = Number(url.searchParams.get('offset') ?? 0)
      return records.slice(offset, offset + Number(url.searchParams.get('limit') ?? 100))
    }
    const t = await setup('server', 'tenfold', (_req, res, url) => {
      if (url.pathname === '/v3/assets') return json(res, 200, { data: page(many, url), timestamp: DRILL_NOW })
      if (url.pathname === '/v3/exchanges')
        return json(res, 200, { data: page(moreExchanges, url), timestamp: DRILL_NOW })
      return false
    })
    const r = await runCli(['run', '--datasets', 'assets,exchanges', '--limit', '1000', '--json'], { env: t.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).datasets.map((d: { rows: number }) => d.rows)).toEqual([1000, 140])
    expect(t.server.requests.sort()).toEqual(['/v3/assets?limit=1000&offset=0', '/v3/exchanges?limit=2000&offset=0'])
    expect(await t.count('asset_snapshots')).toBe(1000)
    expect(await t.count('assets')).toBe(1000)
    expect(await t.count('exchange_snapshots')).toBe(140)
  })

  it('honours a Retry-After given as an HTTP date: exit 0, the second request not before that date', async () => {
    let calls = 0
    let retryAt = 0
    const t = await setup('server', 'retry_date', (_req, res, url) => {
      if (url.pathname !== '/v3/rates' || calls++ > 0) return false
      // An HTTP date has whole seconds: round up, so the date is 2 to 3 s ahead and exactly what the client reads.
      retryAt = Math.ceil((Date.now() + 2000) / 1000) * 1000
      return json(res, 429, { error: 'slow down' }, { 'retry-after': new Date(retryAt).toUTCString() })
    })
    const r = await runCli(['run', '--datasets', 'rates', '--json'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '2' } })
    expect(r.code).toBe(0)
    const api = JSON.parse(r.stdout).api
    expect([api.requests, api.retries]).toEqual([2, 1])
    expect(api.waitedMs).toBeGreaterThan(1000)
    expect(api.waitedMs).toBeLessThanOrEqual(3000)
    expect(t.arrivals()[1]).toBeGreaterThanOrEqual(retryAt)
    expect(await t.count('rate_snapshots')).toBe(16)
  })

  it('gives up on a 429 storm without Retry-After after the retries, in bounded time: exit 69', async () => {
    const t = await setup('server', 'storm_429', (_req, res) => json(res, 429, { error: 'Too many requests' }))
    const r = await runCli(['run', '--datasets', 'rates', '--log-format', 'json'], {
      env: { ...t.env, CRYPTO_ETL_API_RETRIES: '2' },
    })
    const [line] = expectCleanFailure(r, 69)
    expect(line).toContain('GET /rates failed 3 times; last: CoinCap answered 429: Too many requests')
    expect(t.server.requests).toHaveLength(3)
    expectBackoffs(t, r, 2)
  })

  it('does not sleep through a Retry-After beyond the wait cap: exit 69 after one request', async () => {
    const t = await setup('server', 'retry_cap', (_req, res) =>
      json(res, 429, { error: 'quota' }, { 'retry-after': '3600' }),
    )
    const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '5' } })
    const [line] = expectCleanFailure(r, 69)
    expect(line).toContain('the next try would wait 3600 s (Retry-After), beyond the 60 s cap')
    expect(t.server.requests).toHaveLength(1)
    expect(Date.now() - t.arrivals()[0]!).toBeLessThan(CLOSING_MARGIN_MS)
  })

  it('times out a hung connection and exits 69 within the bound of two timeouts and one backoff', async () => {
    const t = await setup('server', 'hung', (_req, _res, url) => url.pathname === '/v3/rates') // never answers
    const r = await runCli(['run', '--datasets', 'rates', '--log-format', 'json'], {
      env: { ...t.env, CRYPTO_ETL_API_RETRIES: '1', CRYPTO_ETL_API_TIMEOUT: '2s' },
    })
    const [line] = expectCleanFailure(r, 69)
    expect(line).toContain('GET /rates failed 2 times; last: no answer from CoinCap (timeout after 2000 ms)')
    expect(t.server.requests).toHaveLength(2)
    // 2 s, not 1 s: on a busy machine a 1 s timeout can end an attempt before the server has even seen it.
    // The timeout runs from when the client sent, which the server cannot see (its first arrival may be late):
    // the gap it sees is bounded below by the backoff alone.
    expectBackoffs(t, r, 1, 2000)
    const [run] = await runStatus(t)
    expect(run?.status).toBe('failed')
  })

  it('retries a truncated JSON body and exits 69 when it stays truncated', async () => {
    const t = await setup('server', 'truncated', (_req, res) => {
      const body = '{"data":[{"id":"bitcoin","symbol":"BTC","currencySymbol":"₿","type":"cry'
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body)
      return true
    })
    const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '1' } })
    const [line] = expectCleanFailure(r, 69)
    expect(line).toContain('last: CoinCap answered 200 with a body that is not JSON (truncated?)')
    expect(t.server.requests).toHaveLength(2)
    expect(await t.count('rate_snapshots')).toBe(0)
  })

  it('retries an answer cut off mid-transfer and loads the whole answer when it heals: exit 0', async () => {
    let calls = 0
    const t = await setup('server', 'cut_heals', (_req, res, url) => {
      if (url.pathname !== '/v3/rates' || calls++ > 0) return false
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '50000' })
      res.write('{"data":[{"id":"bitcoin","symbol":"BTC",')
      setTimeout(() => res.socket?.destroy(), 50)
      return true
    })
    const r = await runCli(['run', '--datasets', 'rates', '--json'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '1' } })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).api).toMatchObject({ requests: 2, retries: 1 })
    expect(await t.count('rate_snapshots')).toBe(16)
  })

  it("retries a CDN's HTML 503 page and exits 69 with a message that quotes no HTML", async () => {
    const t = await setup('server', 'html503', (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/html; charset=utf-8' }).end(HTML_503)
      return true
    })
    const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '1' } })
    const block = expectCleanFailure(r, 69)
    expect(block[0]).toBe(
      'Error: CoinCap is unavailable: GET /rates failed 2 times; last: CoinCap answered 503 with an HTML page.',
    )
    expect(r.stderr).not.toMatch(/<|cdn-edge-7|DOCTYPE/)
    expect(t.server.requests).toHaveLength(2)
  })

  it('reads an HTML 403 page as a refused key: exit 77 after one request, no HTML in the message', async () => {
    const t = await setup('server', 'html403', (_req, res) => {
      res.writeHead(403, { 'content-type': 'text/html' }).end('<html><body><h1>403 Forbidden</h1></body></html>')
      return true
    })
    const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '3' } })
    const block = expectCleanFailure(r, 77)
    expect(block[0]).toBe(
      "Error: CoinCap answered 403 with an HTML page: API key rejected or out of credits. Check COINCAP_API_KEY and your plan's credits.",
    )
    expect(r.stderr).not.toContain('<')
    expect(t.server.requests).toHaveLength(1)
  })

  it('loads every record when upstream adds a field to all of them: exit 0, 100 rows, none rejected', async () => {
    const assets = await fixture('assets')
    const extended = assets.data.map((a) => ({ ...a, riskScore: { value: '0.5', model: 'v2' }, tags: ['l1'] }))
    const t = await setup('server', 'extra_field', (_req, res, url) =>
      url.pathname === '/v3/assets' ? json(res, 200, { data: extended, timestamp: DRILL_NOW }) : false,
    )
    const r = await runCli(['run', '--datasets', 'assets', '--json'], { env: t.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).datasets[0]).toMatchObject({ rows: 100, records: 100, rejected: 0 })
    expect(await t.count('asset_snapshots')).toBe(100)
    expect(await t.count('rejected_records')).toBe(0)
  })

  it('refuses an answer whose envelope changed: exit 65, nothing loaded, the run failed', async () => {
    const assets = await fixture('assets')
    const t = await setup('server', 'envelope', (_req, res, url) =>
      url.pathname === '/v3/assets' ? json(res, 200, { assets: assets.data, timestamp: DRILL_NOW }) : false,
    )
    const r = await runCli(['run', '--datasets', 'assets'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '2' } })
    const block = expectCleanFailure(r, 65)
    expect(block[0]).toBe(
      "Error: CoinCap's answer to GET /assets?limit=100&offset=0 does not have the expected {data, timestamp} shape: data: Invalid input: expected array, received undefined.",
    )
    expect(t.server.requests).toHaveLength(1)
    expect(await t.count('asset_snapshots')).toBe(0)
    expect(await t.count('assets')).toBe(0)
    const [run] = await runStatus(t)
    expect(run?.status).toBe('failed')
  })

  it('loads the datasets that answered and exits 3 when one keeps failing, naming it', async () => {
    const t = await setup('server', 'partial', (_req, res, url) =>
      url.pathname === '/v3/exchanges' ? json(res, 502, { error: 'bad gateway' }) : false,
    )
    const r = await runCli(['run'], { env: t.env })
    expect(r.code).toBe(3)
    expect(errorBlock(r.stderr)[0]).toMatch(/^Error: Partial run 1: exchanges failed \(CoinCap is unavailable: /)
    expect(r.stderr).not.toContain('    at ')
    expect([
      await t.count('asset_snapshots'),
      await t.count('exchange_snapshots'),
      await t.count('rate_snapshots'),
    ]).toEqual([100, 0, 16])
    const [run] = await runStatus(t)
    expect(run?.status).toBe('partial')
  })
})
