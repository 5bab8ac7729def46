/**
 * The dashboard's JSON endpoints, served by the built CLI on a seeded warehouse: the same values as
 * `query --json` and `status --json`, digit for digit; no request, whatever its method or parameters,
 * changes the warehouse; a hostile asset id is only a value; every answer carries the security headers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { get } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { type RunningDashboard, seedTarget, type SeededTarget, startDashboard } from '../helpers/dashboard.js'
import { adminConnection, warehouseQuery } from '../helpers/inspect.js'
import { TARGETS, WAREHOUSE_TABLES } from '../helpers/warehouse.js'

type Json = Record<string, unknown>

/** Every row of every table, hashed, and the names of the schema's relations: what a write would change. */
function fingerprint(query: <T>(text: string) => Promise<T[]>) {
  const tables = WAREHOUSE_TABLES.map(
    (t) =>
      `select '${t}' as t, count(*)::int as n, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from ${t} x`,
  ).join(' union all ')
  return Promise.all([
    query(`${tables} order by t`),
    query(`select relname from pg_class where relnamespace = current_schema()::regnamespace order by 1`),
  ])
}

describe.each(TARGETS)('the dashboard API on the %s database', { timeout: 180_000 }, (target) => {
  let seed: SeededTarget
  let dashboard: RunningDashboard
  const admin = adminConnection()
  const at = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000)

  const api = async (path: string, init?: RequestInit) => {
    const response = await fetch(new URL(path, dashboard.origin), init)
    return { status: response.status, headers: response.headers, body: (await response.json()) as Json }
  }
  const cli = async (...args: string[]) => {
    const r = await runCli(args, { env: seed.env, timeoutMs: 90_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const { target: _target, ...result } = JSON.parse(r.stdout) as Json
    return result
  }
  /** `query history --json` of bitcoin over the range a history endpoint answered for. */
  const cliHistoryOf = (answer: Json, ...flags: string[]) =>
    cli(
      'query',
      'history',
      '--asset',
      'bitcoin',
      '--since',
      answer.since as string,
      '--until',
      answer.until as string,
      ...flags,
      '--json',
    )

  beforeAll(async () => {
    seed = await seedTarget(target, `dash_api_${target}`, at)
    dashboard = await startDashboard(seed.env, ['--max-age', '15m', '--plan', 'basic'])
  }, 240_000)
  afterAll(async () => {
    await dashboard?.stop()
    await seed?.cleanup()
    await admin.end()
  })

  it('latest and exchanges answer what query --json prints, in USD and in EUR', async () => {
    expect((await api('/api/latest')).body).toEqual(await cli('query', 'latest', '--limit', '50', '--json'))
    const eur = await api('/api/latest?currency=EUR&limit=3')
    expect(eur.body).toEqual(await cli('query', 'latest', '--limit', '3', '--currency', 'EUR', '--json'))
    // The stored bitcoin price over the stored EUR rate, exactly: 80800.000000000006984919 / 1.16.
    expect((eur.body.rows as Json[])[0]).toMatchObject({ asset_id: 'bitcoin', price: '69655.172413793109469758' })
    expect((await api('/api/exchanges')).body).toEqual(await cli('query', 'exchanges', '--limit', '10', '--json'))
  })

  it('history and movers answer the rows query --json prints for the same range', async () => {
    const since = '1970-01-01T00:00:00Z'
    const pick = ({ report, currency, rateUsd, assetId, columns, rows }: Json) => ({
      report,
      currency,
      rateUsd,
      assetId,
      columns,
      rows,
    })
    // A long range is thinned as `query history --points 1440` thins it: the same answer for the same range.
    const history = await api('/api/history?asset=bitcoin&range=all&currency=EUR')
    expect(history.body.since).toBe(new Date(0).toISOString())
    expect(history.body).toEqual(await cliHistoryOf(history.body, '--points', '1440', '--currency', 'EUR'))
    expect(history.body.buckets).toMatchObject({ from: seed.seeded.historyStart.toISOString(), count: 1440 })
    // Every stored point of the finest interval and every snapshot, each over the stored rate (1.16) exactly.
    expect((history.body.rows as Json[]).map((r) => `${r.source}: ${r.price}`).sort()).toEqual([
      'history h1: 68103.879310344827586207',
      'history h1: 68189.655172413793103448',
      'history h1: 68448.275862068965517241',
      'history h1: 68620.905172413793103448',
      'snapshot: 68965.517241379310344828',
      'snapshot: 69310.344827586206896552',
      'snapshot: 69655.172413793109469758',
    ])
    // A short range is not thinned: every stored point, as query history prints it without --points.
    const day = await api('/api/history?asset=bitcoin&range=24h')
    expect(day.body).toEqual(await cliHistoryOf(day.body))
    expect(day.body.buckets).toBeUndefined()
    expect((day.body.rows as Json[]).length).toBe(7)
    const movers = await api('/api/movers?range=all')
    expect(pick(movers.body)).toEqual(pick(await cli('query', 'movers', '--since', since, '--limit', '5', '--json')))
    expect((movers.body.rows as Json[]).length).toBeGreaterThan(0)
  })

  it('status answers what status --max-age --json says, with the plan named', async () => {
    const { body } = await api('/api/status')
    const cliStatus = await cli('status', '--max-age', '15m', '--runs', '8', '--json')
    for (const key of ['schema', 'database', 'runs', 'credits', 'watchedBy', 'tables'])
      expect(body[key]).toEqual(cliStatus[key])
    expect((body.datasets as Json[]).map((d) => [d.dataset, d.newest, d.scheduled])).toEqual(
      (cliStatus.datasets as Json[]).map((d) => [d.dataset, d.newest, d.scheduled]),
    )
    expect(body.health).toEqual({ maxAgeMs: 900_000, healthy: true, reasons: [] })
    expect(body.plan).toEqual({ name: 'Basic', credits: 75_000 })
  })

  it('takes a hostile asset id as a value: no rows, nothing run', async () => {
    const hostile = "bitcoin' or '1'='1'; drop table assets; --"
    const { status, body } = await api(`/api/history?asset=${encodeURIComponent(hostile)}&range=all`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ report: 'history', assetId: hostile, rows: [] })
  })

  it('changes nothing, whatever a request sends: methods, parameters, payloads', async () => {
    const query = warehouseQuery(target, admin, seed.schema, seed.env)
    const before = await fingerprint(query)
    const payloads = [
      "x'; delete from etl_runs; --",
      'EUR); drop table assets; --',
      "'; update asset_snapshots set price_usd = 0; --",
      '1; truncate etl_runs',
      'all; insert into etl_runs (command, status) values (1, 2)',
    ]
    const statuses = new Set<number>()
    for (const name of ['latest', 'history', 'movers', 'exchanges', 'status', 'meta']) {
      for (const param of ['currency', 'asset', 'limit', 'range', 'sql', 'report']) {
        for (const payload of payloads) {
          statuses.add((await api(`/api/${name}?${param}=${encodeURIComponent(payload)}`)).status)
        }
      }
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const r = await api(`/api/${name}`, { method, body: 'delete from etl_runs' })
        expect([r.status, r.headers.get('allow')]).toEqual([405, 'GET, HEAD'])
      }
    }
    expect([...statuses].sort()).toEqual([200, 400])
    expect(await fingerprint(query)).toEqual(before)
  })

  it('names the bad parameter in a 400', async () => {
    expect(await api('/api/latest?limit=0')).toMatchObject({
      status: 400,
      body: { error: { message: 'Parameter limit must be a whole number from 1 to 500.' } },
    })
    expect((await api('/api/latest?sql=select+1')).body).toEqual({
      error: { message: "Unknown parameter 'sql': it takes currency, limit." },
    })
    expect((await api('/api/latest?currency=XYZ')).body.error).toMatchObject({
      message: "Unknown currency 'XYZ': no rate with that symbol in rate_snapshots.",
    })
    expect((await api('/api/history?range=1h')).body.error).toMatchObject({
      message: "'history' needs exactly one asset: --asset <id> or --symbol <SYM>.",
    })
  })

  it('sends the security headers with every answer, and refuses a Host that is not loopback', async () => {
    for (const path of ['/', '/app.js', '/app.css', '/api/meta', '/nothing']) {
      const response = await fetch(new URL(path, dashboard.origin))
      expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self';/)
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(response.headers.get('x-frame-options')).toBe('DENY')
      expect(response.headers.get('referrer-policy')).toBe('no-referrer')
      expect(response.status).toBe(path === '/nothing' ? 404 : 200)
    }
    // fetch() will not send another Host: node:http will, as a page rebound to 127.0.0.1 would.
    const rebound = await new Promise<number | undefined>((resolve, reject) =>
      get(new URL('/api/meta', dashboard.origin), { headers: { host: 'attacker.example' } }, (res) => {
        res.resume()
        resolve(res.statusCode)
      }).on('error', reject),
    )
    expect(rebound).toBe(421)
  })

  it('with --open and no browser to open, says so and serves all the same', async () => {
    // An opener that finds no browser, as xdg-open on a machine without a desktop (it exits 3).
    const bin = mkdtempSync(join(tmpdir(), 'no-browser-'))
    writeFileSync(join(bin, 'xdg-open'), '#!/bin/sh\nexit 3\n', { mode: 0o755 })
    const other = await startDashboard({ ...seed.env, PATH: `${bin}:${process.env.PATH}` }, ['--open'])
    try {
      expect((await fetch(new URL('/api/meta', other.origin))).status).toBe(200)
      await expect
        .poll(() => other.stderr(), { timeout: 10_000 })
        .toContain('Could not open a browser (xdg-open exited 3)')
    } finally {
      const { code } = await other.stop('SIGTERM')
      expect(code).toBe(0)
      rmSync(bin, { recursive: true, force: true })
    }
  })

  it('stops on SIGTERM with exit 0', async () => {
    const other = await startDashboard(seed.env)
    const { code, stdout } = await other.stop('SIGTERM')
    expect(code).toBe(0)
    expect(stdout).toMatch(/^Dashboard of .* schema \w+: http:\/\/127\.0\.0\.1:\d+\/\n$/)
  })
})

describe('the dashboard on a host other than loopback', { timeout: 180_000 }, () => {
  let seed: SeededTarget
  beforeAll(async () => {
    seed = await seedTarget('server', 'dash_token', new Date())
  }, 240_000)
  afterAll(async () => {
    await seed?.cleanup()
  })

  const status = async (url: string, init?: RequestInit) => (await fetch(url, { ...init, redirect: 'manual' })).status

  it('prints a new token once in the URL, and answers only requests that carry it', async () => {
    const dashboard = await startDashboard(seed.env, ['--host', '0.0.0.0'])
    try {
      const token = new URL(dashboard.url).searchParams.get('token')!
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/)
      expect(dashboard.stdout()).toMatch(/^Dashboard of .*: http:\/\/0\.0\.0\.0:\d+\/\?token=\S+\n/)
      const local = `http://127.0.0.1:${new URL(dashboard.url).port}`
      expect(await status(`${local}/api/meta`)).toBe(401)
      expect(await status(`${local}/`)).toBe(401)
      expect(await status(`${local}/api/meta`, { headers: { authorization: `Bearer ${token}x` } })).toBe(401)
      expect(await status(`${local}/api/meta`, { headers: { authorization: `Bearer ${token}` } })).toBe(200)
      // The first visit trades the token in the URL for a cookie, and drops it from the address.
      const visit = await fetch(`${local}/?token=${token}`, { redirect: 'manual' })
      expect([visit.status, visit.headers.get('location')]).toEqual([303, '/'])
      const cookie = visit.headers.get('set-cookie')!
      expect(cookie).toBe(`crypto_etl_dashboard=${token}; HttpOnly; SameSite=Strict; Path=/`)
      expect(await status(`${local}/api/latest`, { headers: { cookie: cookie.split(';')[0]! } })).toBe(200)
    } finally {
      const { code, stdout } = await dashboard.stop('SIGINT')
      expect(code).toBe(0)
      expect(stdout.split('\n').slice(1)).toEqual(['The token is shown only here; the page remembers it.', ''])
    }
  })

  it('takes the token from the settings and never prints it', async () => {
    const token = 'a-token-from-the-settings-file-0123456789'
    const dashboard = await startDashboard({ ...seed.env, CRYPTO_ETL_DASHBOARD_TOKEN: token }, ['--host', '0.0.0.0'])
    try {
      expect(dashboard.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/)
      const local = `http://127.0.0.1:${new URL(dashboard.url).port}`
      expect(await status(`${local}/api/meta`, { headers: { authorization: `Bearer ${token}` } })).toBe(200)
      expect(await status(`${local}/api/meta`)).toBe(401)
    } finally {
      const { code, stdout, stderr } = await dashboard.stop()
      expect(code).toBe(0)
      expect(stdout + stderr).not.toContain(token)
    }
  })

  it('exits 2 naming a port in use', async () => {
    const first = await startDashboard(seed.env)
    try {
      const r = await runCli(['dashboard', '--port', new URL(first.url).port], { env: seed.env, timeoutMs: 90_000 })
      expect([r.code, r.stderr]).toEqual([
        2,
        `Error: Port ${new URL(first.url).port} is in use: choose another with --port.\n`,
      ])
    } finally {
      await first.stop()
    }
  })
})
