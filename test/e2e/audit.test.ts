/**
 * What `etl_runs` and the logs say about a run is true and complete: the arguments (without secrets), the
 * credits where they were spent, rollbacks, JSON logs end to end, one error for a missing key, and no
 * silent wait on a terminal.
 */
import { spawnSync } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startFixtureServer } from '../../src/demo/server.js'
import { BIN, runCli } from '../helpers/cli.js'
import { cleanupDrills, DRILL_KEY, DRILL_NOW, fixture, prepareTarget, tempDir } from '../helpers/drills.js'
import { useCoincapPerTest } from '../helpers/use-coincap.js'
import { TARGETS } from '../helpers/warehouse.js'

afterAll(cleanupDrills)

interface RunRow {
  run_id: string
  command: string
  status: string
  args: string[]
  api_requests: number
  api_credits: number
  rolled_back_at: Date | null
  rolled_back_by: string | null
}

const runs = (t: { query<T>(text: string): Promise<T[]> }) =>
  t.query<RunRow>(
    'select run_id, command, status, args, api_requests, api_credits, rolled_back_at, rolled_back_by from etl_runs order by run_id',
  )

/** Every stderr line parsed as JSON (the test fails on the first line that is not). */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .trimEnd()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>
      } catch {
        throw new Error(`not a JSON line: ${l}`)
      }
    })
}

describe.each(TARGETS)('run bookkeeping on the %s database', (target) => {
  const api = useCoincapPerTest({ now: () => DRILL_NOW })

  it('stores each command’s arguments with the key and the password removed', async () => {
    const t = await prepareTarget(target, 'args', api.server.url)
    const key = 'sk-live-args-0c3f9e1b77'
    const flags = ['run', '--datasets', 'rates', '--api-key', key]
    const url = `postgres://postgres:pw-Secret-8812@127.0.0.1:5432/test`
    const withUrl = target === 'server' ? [`--database-url=${url}`] : []
    const r = await runCli([...flags, ...withUrl], { env: t.env })
    expect(r.code, r.stderr).toBe(0)
    const [run] = await runs(t)
    const expected = ['--datasets', 'rates', '--api-key', '***']
    if (target === 'server') expected.push('--database-url=postgres://postgres:***@127.0.0.1:5432/test')
    expect(run!.args).toEqual(expected)
    expect(JSON.stringify(await t.query('select * from etl_runs'))).not.toMatch(/sk-live-args|pw-Secret/)
  })

  it('marks a run rolled back by `prune --run`, naming the prune', async () => {
    const t = await prepareTarget(target, 'rollback', api.server.url)
    expect((await runCli(['run', '--datasets', 'rates'], { env: t.env })).code).toBe(0)
    expect((await runCli(['run', '--datasets', 'exchanges'], { env: t.env })).code).toBe(0)
    const pruned = await runCli(['prune', '--run', '1'], { env: t.env })
    expect(pruned.code, pruned.stderr).toBe(0)
    const [first, second, prune] = await runs(t)
    expect(prune!.command).toBe('prune')
    expect(Number(first!.rolled_back_by)).toBe(Number(prune!.run_id))
    expect(first!.rolled_back_at).toBeInstanceOf(Date)
    expect(second!.rolled_back_at).toBeNull()
    expect(prune!.rolled_back_at).toBeNull()
    const report = await runCli(['query', 'runs', '--format', 'json'], { env: t.env })
    const rows = JSON.parse(report.stdout) as { run_id: number; rolled_back_by: number | null; args: string[] }[]
    expect(rows.map((row) => [row.run_id, row.rolled_back_by])).toEqual([
      [3, null],
      [2, null],
      [1, 3],
    ])
    expect(rows.find((row) => row.run_id === 3)!.args).toEqual(['--run', '1'])
    // Pruning the same run again finds nothing left and keeps the mark of the prune that removed the rows.
    expect((await runCli(['prune', '--run', '1'], { env: t.env })).code).toBe(0)
    expect((await runs(t)).map((r) => Number(r.rolled_back_by))).toEqual([3, 0, 0, 0])
  })

  it('counts no credits for demo runs, and none for a rejected key', async () => {
    const t = await prepareTarget(target, 'credits', api.server.url)
    const demo = await runCli(['run', '--demo', '--allow-demo', '--json'], { env: t.env })
    expect(demo.code, demo.stderr).toBe(0)
    expect(JSON.parse(demo.stdout).api).toMatchObject({ requests: 3, credits: 0 })
    await api.server.close()
    api.server = await startFixtureServer({
      intercept: (_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid key"}')
        return true
      },
    })
    const rejected = await runCli(['run', '--datasets', 'rates'], {
      env: { ...t.env, COINCAP_API_URL: api.server.url },
    })
    expect(rejected.code).toBe(77)
    expect((await runs(t)).map((r) => [r.command, r.api_requests, r.api_credits])).toEqual([
      ['run --demo', 3, 0],
      ['run', 1, 0],
    ])
  })

  it('carries what extract spent to the load that stores it, once', async () => {
    const t = await prepareTarget(target, 'extract_credits', api.server.url)
    const dir = await tempDir('extract-credits')
    const file = join(dir, 'snapshot.ndjson')
    const extracted = await runCli(['extract', '--datasets', 'assets,rates', '--output', file, '--json'], {
      env: t.env,
    })
    expect(extracted.code, extracted.stderr).toBe(0)
    const spent = JSON.parse(extracted.stdout).api as { requests: number; credits: number }
    expect(spent.requests).toBe(2)
    // 1 credit per request plus 1 per 2,500 bytes of each answer.
    const sizes = await Promise.all(['assets', 'rates'].map(async (d) => JSON.stringify(await fixture(d)).length))
    expect(spent.credits).toBeGreaterThanOrEqual(2 + sizes.reduce((n, s) => n + Math.floor(s / 2500), 0))
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    expect(lines.map((l) => JSON.parse(l).cost.requests)).toEqual([1, 1])
    expect(lines.reduce((n, l) => n + JSON.parse(l).cost.credits, 0)).toBe(spent.credits)
    expect((await runCli(['load', file], { env: t.env })).code).toBe(0)
    expect((await runCli(['load', file], { env: t.env })).code).toBe(0)
    expect((await runs(t)).map((r) => [r.command, r.api_requests, r.api_credits])).toEqual([
      ['load', 2, spent.credits],
      ['load', 0, 0],
    ])
  })

  it('shows the rejected records in the run summary', async () => {
    const t = await prepareTarget(target, 'summary_rejected', api.server.url)
    const rates = await fixture('rates')
    await api.server.close()
    api.server = await startFixtureServer({
      now: () => DRILL_NOW,
      intercept: (req, res) => {
        if (!req.url?.includes('/rates')) return false
        const data = rates.data.map((r, i) => (i < 2 ? { ...r, rateUsd: 'not a number' } : r))
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data, timestamp: DRILL_NOW }))
        return true
      },
    })
    const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, COINCAP_API_URL: api.server.url } })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^run 1 ok in \d+\.\ds: rates \+14; 2 rejected; 1 request, ~\d+ credits?$/m)
  })
})

describe('--log-format json', () => {
  const api = useCoincapPerTest({ now: () => DRILL_NOW })

  it('writes every stderr line of a run as JSON, the summary with its fields, and nothing on stdout', async () => {
    const t = await prepareTarget('server', 'jsonlog', api.server.url)
    const r = await runCli(['run', '--log-format', 'json'], { env: t.env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toBe('')
    const lines = jsonLines(r.stderr)
    expect(lines.at(-1)).toMatchObject({
      level: 'info',
      msg: 'run finished',
      run_id: 1,
      status: 'ok',
      rows: { assets: 100, exchanges: 14, rates: 16 },
      rejected: 0,
      requests: 3,
      exit_code: 0,
    })
    expect(lines.at(-1)!.credits).toBeGreaterThan(3)
  })

  it('writes the final error as JSON with its exit code, from the settings file too', async () => {
    const t = await prepareTarget('server', 'jsonlog_fail', api.server.url)
    await api.server.close()
    const failed = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, CRYPTO_ETL_LOG_FORMAT: 'json' } })
    expect(failed.code).toBe(69)
    const last = jsonLines(failed.stderr).at(-1)!
    expect(last).toMatchObject({ level: 'error', exit_code: 69 })
    expect(String(last.msg)).toMatch(/rates/)
    expect(failed.stderr).not.toContain(DRILL_KEY)
  })

  it('writes what a partial run did on its final error line: run_id, status, rows, credits, exit_code 3', async () => {
    await api.server.close()
    api.server = await startFixtureServer({
      now: () => DRILL_NOW,
      intercept: (req, res) => {
        if (!req.url?.includes('/exchanges')) return false
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"bad gateway"}')
        return true
      },
    })
    const t = await prepareTarget('server', 'jsonlog_partial', api.server.url)
    const r = await runCli(['run', '--log-format', 'json'], { env: { ...t.env, CRYPTO_ETL_API_RETRIES: '0' } })
    expect(r.code).toBe(3)
    const last = jsonLines(r.stderr).at(-1)!
    expect(last).toMatchObject({
      level: 'error',
      run_id: 1,
      status: 'partial',
      rows: { assets: 100, exchanges: 0, rates: 16 },
      exit_code: 3,
    })
    expect(last.credits).toBeGreaterThan(2)
  })

  it('writes the reasons status finds the warehouse unhealthy as a JSON error line (exit 1)', async () => {
    const t = await prepareTarget('server', 'jsonlog_status', api.server.url)
    expect((await runCli(['run', '--datasets', 'rates'], { env: t.env })).code).toBe(0)
    // The answers are stamped 2026-01-15, long before now: stale for any --max-age.
    const r = await runCli(['status', '--max-age', '1m', '--log-format', 'json'], { env: t.env })
    expect(r.code).toBe(1)
    const errors = jsonLines(r.stderr).filter((l) => l.level === 'error')
    expect(errors, r.stderr).toHaveLength(1)
    expect(errors[0]).toMatchObject({ msg: 'unhealthy', exit_code: 1 })
    expect(errors[0]!.reasons).toEqual([expect.stringMatching(/^rates: newest data is/)])
  })

  it.each([
    ['a bad flag value', ['run', '--limit', 'abc', '--log-format', 'json'], {}, 2],
    ['an unknown flag', ['query', '--log-format=json', '--no-such-flag'], {}, 2],
    ['a bad setting', ['status', '--log-format', 'json'], { CRYPTO_ETL_SCHEMA: 'Bad-Name' }, 78],
    ['a missing key', ['run', '--log-format', 'json'], {}, 77],
  ])('writes %s as one JSON error line', async (_what, args, env, code) => {
    const t = await prepareTarget('server', 'jsonlog_early', api.server.url)
    const r = await runCli(args, { env: { ...t.env, COINCAP_API_KEY: undefined, ...env } })
    expect(r.code).toBe(code)
    expect(r.stdout).toBe('')
    const lines = jsonLines(r.stderr)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'error', exit_code: code })
  })
})

describe('a key that cannot be sent', () => {
  it.each([
    ['a line break', 'sk-live-0c3f\n9e1b'],
    ['a space', 'sk-live-0c3f 9e1b'],
    ['a tab', 'sk-live-0c3f\t9e1b'],
  ])('with %s is a setting error (78) before any request, and not printed', async (_what, key) => {
    const server = await startFixtureServer()
    try {
      const t = await prepareTarget('server', 'badkey', server.url)
      const r = await runCli(['run', '--datasets', 'rates'], { env: { ...t.env, COINCAP_API_KEY: key } })
      expect(r.code).toBe(78)
      expect(r.stderr).toMatch(/^Error: Invalid setting --api-key \/ COINCAP_API_KEY: must be printable characters/)
      expect(r.stderr).not.toContain('0c3f')
      expect(server.requests).toHaveLength(0)
    } finally {
      await server.close()
    }
  })
})

describe('a missing key', () => {
  it.each([
    ['run', ['run']],
    ['run of one dataset', ['run', '--datasets', 'markets']],
    ['extract', ['extract', '--output']],
    ['backfill', ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '2d']],
  ])('is one error before any dataset starts (%s)', async (what, args) => {
    const server = await startFixtureServer()
    try {
      const t = await prepareTarget('server', 'nokey', server.url)
      const dir = await tempDir('no-key')
      const output = join(dir, 'x.ndjson')
      const r = await runCli(what === 'extract' ? [...args, output] : args, {
        env: { ...t.env, COINCAP_API_KEY: undefined },
      })
      expect(r.code).toBe(77)
      expect(await readdir(dir)).toEqual([])
      expect(r.stderr).toBe(
        'Error: No CoinCap API key: CoinCap v3 wants a key for every call.\n' +
          'Set COINCAP_API_KEY (in the settings file for cron) or pass --api-key; keys come from https://pro.coincap.io/dashboard.\n',
      )
      expect(server.requests).toHaveLength(0)
    } finally {
      await server.close()
    }
  })

  it('does not stop a plan, which needs no key', async () => {
    const t = await prepareTarget('server', 'nokey_plan')
    const r = await runCli(['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '2d', '--plan'], {
      env: { ...t.env, COINCAP_API_KEY: undefined },
    })
    expect(r.code, r.stderr).toBe(0)
  })
})

describe('load at a terminal', () => {
  it.each([[['load']], [['load', '-']]])('refuses at once instead of waiting for input (%j)', (args) => {
    // `script` gives the child a pseudo-terminal as stdin, as a person typing the command would have.
    const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')
    const started = Date.now()
    const r = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, HOME: process.env.HOME, CRYPTO_ETL_DATA_DIR: '/nonexistent/never-opened' },
    })
    expect(r.status).toBe(2)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(r.stdout.replace(/\r/g, '')).toBe(
      'Error: load needs a landing file: give its path, or pipe one in.\n' +
        'e.g. crypto-etl load snapshot.ndjson, or crypto-etl extract | crypto-etl load -\n',
    )
  })
})
