import { setTimeout } from 'node:timers/promises'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { type HistoryServer, type HistorySourceOptions, startHistoryServer } from '../helpers/history-server.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'

const API_KEY = 'e2e-backfill-key-9137'
const RANGE = ['--from', '2025-01-01', '--to', '2025-04-01']
const TWO_ASSETS = ['--assets', 'bitcoin,ethereum', '--interval', 'h1']
const HOURS_90D = 90 * 24
const scratch = new Scratch()
let server: HistoryServer | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})
afterAll(() => scratch.cleanup())

/** A fresh schema (server) or data directory (embedded) and a generated-history server. */
async function prepare(target: Target, source: HistorySourceOptions = {}) {
  server = await startHistoryServer(source)
  const t = await scratch.warehouse(target, `backfill_${target}`, {
    COINCAP_API_URL: server.url,
    COINCAP_API_KEY: API_KEY,
    CRYPTO_ETL_API_RETRIES: '0',
  })
  /** The rows of asset_history that match `where`. */
  const count = (where = 'true') => t.count(`asset_history where ${where}`)
  return { ...t, count }
}

const history = () => server!.requests.filter((r) => r.includes('/history'))
/** The error line of stderr (other commands' start-up warnings may precede it). */
const errorLine = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('Error: '))

describe.each(TARGETS)('backfill on the %s database', (target) => {
  it('prints the plan of 90 days of h1 for two assets without a key and without a request', async () => {
    const t = await prepare(target)
    const planned = await runCli(['backfill', ...TWO_ASSETS, ...RANGE, '--plan'], {
      env: { ...t.env, COINCAP_API_KEY: undefined } as unknown as Record<string, string>,
    })
    expect(planned.code).toBe(0)
    expect(server!.requests).toEqual([])
    expect(planned.stdout).toContain('│ bitcoin  │ 2025-01-12 00:00Z │ 2025-02-11 00:00Z │    720 │     ~28 │')
    expect(planned.stdout).toContain(
      'bitcoin 2025-01-01 00:00Z to 2025-04-01 00:00Z: 4 windows to fetch, 0 already done, ~85 credits',
    )
    expect(planned.stdout).toContain('Total: 8 requests, ~170 credits, about 1s at 500 requests/min, 4 at a time.')
  })

  it('loads every hour once, and a second run asks CoinCap nothing and costs no credit', async () => {
    const t = await prepare(target)
    const first = await runCli(['backfill', ...TWO_ASSETS, ...RANGE, '--json'], { env: t.env })
    expect(first.code).toBe(0)
    const result = JSON.parse(first.stdout)
    expect([result.status, result.rows, result.api.historyRequests, result.api.credits]).toEqual([
      'ok',
      2 * HOURS_90D,
      8,
      170,
    ])
    expect(first.stderr).toContain('Plan total: 8 requests, ~170 credits')
    expect(await t.count()).toBe(2 * HOURS_90D)
    expect(await t.count(`asset_id = 'bitcoin' and ts >= '2025-01-01' and ts < '2025-04-01'`)).toBe(HOURS_90D)
    const again = await runCli(['backfill', ...TWO_ASSETS, ...RANGE, '--json'], { env: t.env })
    expect(again.code).toBe(0)
    const repeat = JSON.parse(again.stdout)
    expect([repeat.rows, repeat.api.requests, repeat.api.credits]).toEqual([0, 0, 0])
    expect(history()).toHaveLength(8)
    const runs = await t.query<{ status: string; api_requests: number; api_credits: number }>(
      `select status, api_requests, api_credits from etl_runs where command = 'backfill' order by run_id`,
    )
    expect(runs.map((r) => [r.status, r.api_requests, r.api_credits])).toEqual([
      ['ok', 8, 170],
      ['ok', 0, 0],
    ])
  })
})

describe('backfill against the server database', () => {
  it('exits 143 on SIGTERM, keeps the finished windows, and resumes with only the others', async () => {
    // Twenty windows answered, then no more: the backfill cannot finish before the signal, however slow the machine.
    const t = await prepare('server', { latencyMs: 100, answerFirst: 20 })
    const args = ['backfill', ...TWO_ASSETS, ...RANGE, '--window', '1d']
    let done = 0
    const killed = await runCli(args, {
      env: t.env,
      timeoutMs: 60_000,
      onSpawn: (child) => {
        let exited = false
        child.on('exit', () => (exited = true))
        // One count at a time (a query's failure counts as none done yet), then SIGTERM once ten windows are done.
        void (async () => {
          while (!exited) {
            const rows = await t
              .query<{ n: number }>(`select count(*)::int as n from backfill_windows where status = 'done'`)
              .catch(() => [{ n: 0 }])
            if ((rows[0]?.n ?? 0) >= 10) return child.kill('SIGTERM')
            await setTimeout(25)
          }
        })()
      },
    })
    expect(killed.code).toBe(143)
    expect(errorLine(killed.stderr)).toBe('Error: Interrupted by SIGTERM.')
    done = (await t.query<{ n: number }>(`select count(*)::int as n from backfill_windows where status = 'done'`))[0]!.n
    expect(done).toBeGreaterThanOrEqual(10)
    expect(done).toBeLessThan(180)
    const [run] = await t.query<{ status: string }>(`select status from etl_runs`)
    expect(run?.status).toBe('interrupted')

    const before = history().length
    server!.set({ latencyMs: 0, answerFirst: undefined })
    const resumed = await runCli([...args, '--json'], { env: t.env })
    expect(resumed.code).toBe(0)
    expect(history().length - before).toBe(180 - done)
    expect(JSON.parse(resumed.stdout).api.historyRequests).toBe(180 - done)
    expect(await t.count()).toBe(2 * HOURS_90D)
    const [distinct] = await t.query<{ n: number }>(
      'select count(distinct (asset_id, ts))::int as n from asset_history',
    )
    expect(distinct?.n).toBe(2 * HOURS_90D)
  })

  it('exits 3 naming the window that kept failing, and the next run retries only that window', async () => {
    const broken = Date.parse('2025-02-11T00:00:00Z')
    const t = await prepare('server', {
      fault: (q) => (q.asset === 'ethereum' && q.start === broken ? 503 : undefined),
    })
    const failed = await runCli(['backfill', ...TWO_ASSETS, ...RANGE], { env: t.env })
    expect(failed.code).toBe(3)
    expect(errorLine(failed.stderr)).toMatch(
      /^Error: Partial backfill \(run 1\): 7 windows loaded, 1 failed \(first: ethereum 2025-02-11T00:00:00.000Z..2025-03-13T00:00:00.000Z: /,
    )
    const [window] = await t.query<{ status: string; attempts: number }>(
      `select status, attempts from backfill_windows where status <> 'done'`,
    )
    expect(window).toEqual({ status: 'failed', attempts: 1 })
    server!.set({ fault: undefined })
    const before = history().length
    const healed = await runCli(['backfill', ...TWO_ASSETS, ...RANGE], { env: t.env })
    expect(healed.code).toBe(0)
    expect(history().slice(before)).toEqual([
      `/v3/assets/ethereum/history?interval=h1&start=${broken}&end=${Date.parse('2025-03-13T00:00:00Z') - 1}`,
    ])
    expect(await t.count()).toBe(2 * HOURS_90D)
  })

  it('lists the holes of the source with query gaps, and --fill-gaps does not ask for them again', async () => {
    const outage = [Date.parse('2025-02-01T05:00Z'), Date.parse('2025-02-01T15:00Z')] as const
    const t = await prepare('server', { hole: (_a, time) => time >= outage[0] && time < outage[1] })
    expect((await runCli(['backfill', ...TWO_ASSETS, ...RANGE], { env: t.env })).code).toBe(0)
    const gaps = await runCli(
      'query gaps --asset bitcoin --interval h1 --since 2025-01-01 --until 2025-03-31T23:00Z --format json'.split(' '),
      { env: t.env },
    )
    expect(gaps.code).toBe(0)
    expect(JSON.parse(gaps.stdout)).toEqual([
      { from: '2025-02-01T05:00:00.000Z', to: '2025-02-01T14:00:00.000Z', missing: 10 },
    ])
    const before = history().length
    const fill = await runCli(['backfill', ...TWO_ASSETS, '--fill-gaps', '--json'], { env: t.env })
    expect(fill.code).toBe(0)
    expect(history().length).toBe(before)
    expect(JSON.parse(fill.stdout).assets.map((a: { windows: { planned: number } }) => a.windows.planned)).toEqual([
      0, 0,
    ])
  })

  it('backfills the top 2 assets after one /assets request', async () => {
    const t = await prepare('server')
    const result = await runCli(['backfill', '--top', '2', '--interval', 'd1', ...RANGE, '--json'], { env: t.env })
    expect(result.code).toBe(0)
    expect(server!.requests[0]).toBe('/v3/assets?limit=2&offset=0')
    expect(JSON.parse(result.stdout).assets.map((a: { asset: string; rows: number }) => [a.asset, a.rows])).toEqual([
      ['bitcoin', 90],
      ['ethereum', 90],
    ])
  })

  it.each([
    [
      ['--from', '2025-03-01', '--to', '2025-02-01'],
      'Error: --from (2025-03-01T00:00:00.000Z) is later than --to (2025-02-01T00:00:00.000Z).',
    ],
    [
      ['--from', '2025-02-30'],
      "Error: --from: '2025-02-30' is neither a date (2025-01-01, 2025-01-01T12:00Z) nor a duration (30d).",
    ],
    [
      ['--from', '1d', '--interval', 'm2'],
      'Error: Expected --interval=m2 to be one of: m1, m5, m15, m30, h1, h2, h6, h12, d1',
    ],
    [['--from', '7d', '--window', '30m'], 'Error: --window must be at least one h1 bucket (3600s).'],
    [
      ['--to', '2025-01-01'],
      'Error: Missing --from: give the start of the range, e.g. --from 90d or --from 2025-01-01.',
    ],
  ])('exits 2 with one line and asks nothing for %j', async (extra, line) => {
    const t = await prepare('server')
    const args = ['backfill', '--assets', 'bitcoin', ...(extra.includes('--interval') ? [] : ['--interval', 'h1'])]
    const result = await runCli([...args, ...extra], { env: t.env })
    expect(result.code).toBe(2)
    expect(errorLine(result.stderr)).toBe(line)
    expect(result.stderr).not.toContain('    at ')
    expect(server!.requests).toEqual([])
  })
})
