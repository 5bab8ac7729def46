import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CoincapClient } from '../../src/coincap/index.js'
import { InterruptedError } from '../../src/core/errors.js'
import { type BackfillOptions, planBackfill, runBackfill } from '../../src/backfill/backfill.js'
import type { Sql } from '../../src/warehouse/connection/connect.js'
import { tryLock } from '../../src/warehouse/ledgers/locks.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { findHistoryGaps } from '../../src/warehouse/reading/queries.js'
import { type HistoryServer, startHistoryServer, windowsAsked } from '../helpers/history-server.js'
import { useTestWarehouse } from '../helpers/use-warehouse.js'
import { openTestWarehouse, TARGETS, type TestWarehouse } from '../helpers/warehouse.js'

const NOW = Date.parse('2025-06-15T12:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR
const at = (iso: string) => Date.parse(iso)
const isoOf = (ms: number) => new Date(ms).toISOString()
/** jsonb as an object, whichever way the driver hands it over. */
const json = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value)

/** The 30-day windows of 2025-01-01..2025-04-01 on the epoch grid. */
const WINDOWS = [
  ['2025-01-01T00:00:00.000Z', '2025-01-12T00:00:00.000Z'],
  ['2025-01-12T00:00:00.000Z', '2025-02-11T00:00:00.000Z'],
  ['2025-02-11T00:00:00.000Z', '2025-03-13T00:00:00.000Z'],
  ['2025-03-13T00:00:00.000Z', '2025-04-01T00:00:00.000Z'],
]
const POINTS_90D_H1 = 90 * 24

describe.each(TARGETS)('backfill on the %s database', (target) => {
  let sql: Sql
  let server: HistoryServer
  const t = useTestWarehouse(target, `backfill_${target}`, async (warehouse) => {
    sql = warehouse.sql
    await migrate(warehouse)
  })
  beforeEach(async () => {
    await sql`truncate asset_history, backfill_windows, etl_runs, rejected_records restart identity`
    server = await startHistoryServer({ now: () => NOW })
  })
  afterEach(async () => {
    await server.close()
  })

  const client = (apiKey = 'test-key') => new CoincapClient({ apiUrl: server.url, apiKey, retries: 0 })
  const options = (o: Partial<BackfillOptions> = {}): BackfillOptions => ({
    assets: { ids: ['bitcoin', 'ethereum'] },
    interval: 'h1',
    from: new Date('2025-01-01'),
    to: new Date('2025-04-01'),
    version: 'test',
    now: () => NOW,
    ...o,
  })
  const count = async (asset = 'bitcoin') =>
    Number(
      (
        await sql`select count(*)::int as n, count(distinct ts)::int as d from asset_history where asset_id = ${asset}`
      )[0]?.n,
    )
  const ledger = async (asset = 'bitcoin') =>
    (
      await sql<{ s: Date; e: Date; status: string; rows: number; attempts: number }[]>`
        select window_start as s, window_end as e, status, rows, attempts from backfill_windows
        where asset_id = ${asset} order by window_start`
    ).map((r) => [isoOf(r.s.getTime()), isoOf(r.e.getTime()), r.status, r.rows, r.attempts])

  it('loads every hour of 90 days once, in four windows per asset, and records each window done', async () => {
    const result = await runBackfill(t.warehouse, client(), options())
    expect(result.status).toBe('ok')
    expect(result.rows).toBe(2 * POINTS_90D_H1)
    expect(windowsAsked(server, 'bitcoin').sort()).toEqual(WINDOWS)
    expect(server.history).toHaveLength(8)
    const [row] = await sql`
      select count(*)::int as n, count(distinct ts)::int as d, min(ts) as lo, max(ts) as hi
      from asset_history where asset_id = 'bitcoin' and interval = 'h1'`
    expect([row?.n, row?.d, isoOf(row?.lo.getTime()), isoOf(row?.hi.getTime())]).toEqual([
      POINTS_90D_H1,
      POINTS_90D_H1,
      '2025-01-01T00:00:00.000Z',
      '2025-03-31T23:00:00.000Z',
    ])
    expect(await ledger()).toEqual([
      [...WINDOWS[0]!, 'done', 11 * 24, 1],
      [...WINDOWS[1]!, 'done', 30 * 24, 1],
      [...WINDOWS[2]!, 'done', 30 * 24, 1],
      [...WINDOWS[3]!, 'done', 19 * 24, 1],
    ])
    const [run] = await sql`select command, status, datasets, rows, api_requests from etl_runs`
    expect([run?.command, run?.status, run?.datasets, json(run?.rows), run?.api_requests]).toEqual([
      'backfill',
      'ok',
      ['history'],
      { history: 2 * POINTS_90D_H1 },
      8,
    ])
  })

  it('makes no history request and adds no row when the same backfill runs again', async () => {
    await runBackfill(t.warehouse, client(), options())
    const again = client()
    const result = await runBackfill(t.warehouse, again, options())
    expect(server.history).toHaveLength(8)
    expect([result.status, result.rows, result.api.requests, result.api.credits]).toEqual(['ok', 0, 0, 0])
    expect(result.assets.map((a) => a.windows.skipped)).toEqual([4, 4])
  })

  it('resumes an interrupted backfill by fetching only the windows not done', async () => {
    const controller = new AbortController()
    const interrupted = await runBackfill(
      t.warehouse,
      client(),
      options({
        windowMs: 5 * DAY,
        signal: controller.signal,
        events: {
          windowFinished: () => {
            controller.abort(new InterruptedError('SIGTERM'))
          },
        },
      }),
    )
    expect(interrupted.status).toBe('interrupted')
    expect(interrupted.error).toEqual({ name: 'InterruptedError', message: 'Interrupted by SIGTERM.', exitCode: 143 })
    const done = (await ledger()).filter((w) => w[2] === 'done')
    expect(done).toHaveLength(1)
    expect(await count()).toBe(Number(done[0]![3]))
    const [run] = await sql`select status, error from etl_runs`
    expect([run?.status, run?.error]).toEqual(['interrupted', 'Interrupted by SIGTERM.'])

    // A request of the interrupted run may still reach the server now: only the resumed client's count.
    const resumed = await runBackfill(t.warehouse, client('resume-key'), options({ windowMs: 5 * DAY }))
    const asked = server.history.filter((q) => q.authorization === 'Bearer resume-key')
    expect(asked).toHaveLength(2 * 19 - 1)
    expect(asked.filter((q) => q.asset === 'bitcoin' && isoOf(q.start) === done[0]![0])).toEqual([])
    expect(resumed.status).toBe('ok')
    expect([await count('bitcoin'), await count('ethereum')]).toEqual([POINTS_90D_H1, POINTS_90D_H1])
  })

  it('plans windows, requests and credits from the ledger without asking CoinCap anything', async () => {
    const plan = await planBackfill(t.warehouse, options())
    expect(server.requests).toEqual([])
    expect(plan.assets.map((a) => [a.asset, a.windows, a.skipped, a.requests, a.credits])).toEqual([
      ['bitcoin', 4, 0, 4, 11 + 28 + 28 + 18],
      ['ethereum', 4, 0, 4, 11 + 28 + 28 + 18],
    ])
    expect(plan.assets[0]!.toFetch.map((w) => [w.start, w.end, w.points])).toEqual([
      [...WINDOWS[0]!, 264],
      [...WINDOWS[1]!, 720],
      [...WINDOWS[2]!, 720],
      [...WINDOWS[3]!, 456],
    ])
    expect(plan.totals).toEqual({ windows: 8, skipped: 0, requests: 8, credits: 170, durationMs: 1000 })
    await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    const after = await planBackfill(t.warehouse, options())
    expect(after.assets.map((a) => [a.asset, a.skipped, a.requests])).toEqual([
      ['bitcoin', 4, 0],
      ['ethereum', 0, 4],
    ])
  })

  it('records holes at the source, which findHistoryGaps lists and --fill-gaps does not ask for again', async () => {
    const outage = { start: at('2025-02-01T05:00Z'), end: at('2025-02-01T15:00Z') }
    server.set({
      hole: (_asset, time) => time === at('2025-01-05T03:00Z') || (time >= outage.start && time < outage.end),
    })
    const result = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    expect(result.assets[0]).toMatchObject({ points: POINTS_90D_H1 - 11, missing: 11 })
    expect(result.assets[0]!.windows).toMatchObject({ done: 4, short: 2 })
    expect((await ledger()).map((w) => w[3])).toEqual([11 * 24 - 1, 30 * 24 - 10, 720, 456])
    const gaps = await findHistoryGaps(sql, {
      assetId: 'bitcoin',
      interval: 'h1',
      from: new Date('2025-01-01'),
      to: new Date('2025-03-31T23:00Z'),
    })
    expect(gaps.map((g) => [isoOf(g.from.getTime()), isoOf(g.to.getTime()), g.missing])).toEqual([
      ['2025-01-05T03:00:00.000Z', '2025-01-05T03:00:00.000Z', 1],
      ['2025-02-01T05:00:00.000Z', '2025-02-01T14:00:00.000Z', 10],
    ])
    const before = server.history.length
    const fill = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] }, fillGaps: true }))
    expect(server.history.length - before).toBe(0)
    expect(fill.assets[0]!.windows).toMatchObject({ planned: 0, skipped: 4 })
  })

  it('fetches again with --fill-gaps only the window whose stored points were deleted', async () => {
    await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    await sql`delete from asset_history where ts >= '2025-02-20' and ts < '2025-02-21'`
    const before = server.history.length
    const fill = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] }, fillGaps: true }))
    expect(windowsAsked(server).slice(before)).toEqual([WINDOWS[2]])
    expect([fill.rows, await count()]).toEqual([24, POINTS_90D_H1])
    expect((await ledger())[2]).toEqual([...WINDOWS[2]!, 'done', 720, 2])
  })

  it('fills with --fill-gaps and no --from the holes of history stored by other means', async () => {
    await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    await sql`delete from backfill_windows`
    await sql`delete from asset_history where ts >= '2025-01-20' and ts < '2025-01-21'`
    const before = server.history.length
    await runBackfill(
      t.warehouse,
      client(),
      options({ assets: { ids: ['bitcoin'] }, from: undefined, to: undefined, fillGaps: true }),
    )
    expect(windowsAsked(server).slice(before)).toEqual([['2025-01-20T00:00:00.000Z', '2025-01-21T00:00:00.000Z']])
    expect(await count()).toBe(POINTS_90D_H1)
  })

  it('asks the two halves of a window that came back empty where data should be, then records it empty', async () => {
    const [start, end] = [at(WINDOWS[1]![0]!), at(WINDOWS[1]![1]!)]
    server.set({ hole: (_asset, time) => time >= start && time < end })
    const result = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    expect(windowsAsked(server).sort()).toEqual(
      [...WINDOWS, [WINDOWS[1]![0], '2025-01-27T00:00:00.000Z'], ['2025-01-27T00:00:00.000Z', WINDOWS[1]![1]]].sort(),
    )
    expect((await ledger()).map((w) => [w[2], w[3]])).toEqual([
      ['done', 264],
      ['empty', 0],
      ['done', 720],
      ['done', 456],
    ])
    expect(result.assets[0]!.windows).toMatchObject({ done: 3, empty: 1 })
  })

  it('records a window before the first point at the source empty after one request', async () => {
    server.set({ since: at('2025-02-20T00:00Z') })
    await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    // Windows 1 and 2 once each; window 3 once, and its missing head once more (empty: confirmed).
    expect(windowsAsked(server).sort()).toEqual([...WINDOWS, [WINDOWS[2]![0], '2025-02-20T00:00:00.000Z']].sort())
    expect((await ledger()).map((w) => [w[2], w[3]])).toEqual([
      ['empty', 0],
      ['empty', 0],
      ['done', 21 * 24],
      ['done', 456],
    ])
  })

  it('follows up an answer cut short until every point of the window has come', async () => {
    server.set({ maxPoints: 300 })
    const result = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    expect([result.rows, await count()]).toEqual([POINTS_90D_H1, POINTS_90D_H1])
    // 264 and 456 points: 1 and 2 requests; 720 points: 3 requests each.
    expect(server.history).toHaveLength(1 + 3 + 3 + 2)
    expect((await ledger()).map((w) => w[3])).toEqual([264, 720, 720, 456])
  })

  it('marks a failing window failed, ends partial (3), and retries only that window on the next run', async () => {
    const broken = at(WINDOWS[2]![0]!)
    server.set({ fault: (q) => (q.asset === 'bitcoin' && q.start === broken ? 500 : undefined) })
    const failed = await runBackfill(t.warehouse, client(), options())
    expect(failed.status).toBe('partial')
    expect(failed.error).toMatchObject({ name: 'PartialError', exitCode: 3 })
    expect(failed.error?.message).toMatch(/^Partial backfill \(run 1\): 7 windows loaded, 1 failed \(first: bitcoin /)
    expect((await ledger())[2]).toEqual([...WINDOWS[2]!, 'failed', 0, 1])
    const [run] = await sql`select status, error, rows from etl_runs`
    expect(run?.status).toBe('partial')
    expect(run?.error).toContain('bitcoin 2025-02-11T00:00:00.000Z..2025-03-13T00:00:00.000Z: ')
    expect(json(run?.rows)).toEqual({ history: 2 * POINTS_90D_H1 - 720 })

    server.set({ fault: undefined })
    const before = server.history.length
    const healed = await runBackfill(t.warehouse, client(), options())
    expect(windowsAsked(server).slice(before)).toEqual([WINDOWS[2]])
    expect([healed.status, healed.rows]).toEqual(['ok', 720])
    expect((await ledger())[2]).toEqual([...WINDOWS[2]!, 'done', 720, 2])
  })

  it('fails with a usage error (2) for an asset CoinCap does not know and leaves no pending window', async () => {
    const failed = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['no-such-coin'] } }))
    expect(failed.status).toBe('failed')
    expect(failed.error).toMatchObject({ name: 'UsageError', exitCode: 2 })
    expect(failed.error?.message).toContain("CoinCap does not know asset 'no-such-coin'.")
    const rows = await sql`select status, attempts from backfill_windows where asset_id = 'no-such-coin'`
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([['failed', 1]])
  })

  it('skips windows a backfill with another window size already covered, and fetches only the new tail', async () => {
    await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] } }))
    const before = server.history.length
    const weekly = await runBackfill(
      t.warehouse,
      client(),
      options({ assets: { ids: ['bitcoin'] }, windowMs: 7 * DAY, to: new Date('2025-04-05') }),
    )
    expect(windowsAsked(server).slice(before)).toEqual([
      ['2025-04-01T00:00:00.000Z', '2025-04-03T00:00:00.000Z'],
      ['2025-04-03T00:00:00.000Z', '2025-04-05T00:00:00.000Z'],
    ])
    expect([weekly.rows, await count()]).toEqual([4 * 24, POINTS_90D_H1 + 4 * 24])
  })

  it('leaves the newest buckets CoinCap has not published yet to the next run', async () => {
    const range = { from: new Date(NOW - 2 * DAY), to: undefined }
    server.set({ until: NOW - 3 * HOUR })
    const first = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] }, ...range }))
    expect(first.rows).toBe(45)
    server.set({ until: undefined })
    const before = server.history.length
    const second = await runBackfill(t.warehouse, client(), options({ assets: { ids: ['bitcoin'] }, ...range }))
    expect(windowsAsked(server).slice(before)).toEqual([[isoOf(NOW - 3 * HOUR), isoOf(NOW)]])
    expect([second.rows, await count()]).toEqual([3, 48])
  })

  it('takes --top assets from one /assets request and counts it', async () => {
    const result = await runBackfill(t.warehouse, client(), options({ assets: { top: 2 } }))
    expect(server.requests[0]).toBe('/v3/assets?limit=2&offset=0')
    expect(result.assets.map((a) => a.asset)).toEqual(['bitcoin', 'ethereum'])
    expect([result.api.requests, result.api.historyRequests]).toEqual([9, 8])
  })
})

describe('backfill lock on the server database', () => {
  let t: TestWarehouse
  let server: HistoryServer
  beforeAll(async () => {
    t = await openTestWarehouse('server', 'backfill_lock')
    await migrate(t.warehouse)
    server = await startHistoryServer({ now: () => NOW })
  })
  afterAll(async () => {
    await server?.close()
    await t?.cleanup()
  })

  it('skips an asset whose backfill another process is running, asking CoinCap nothing', async () => {
    const { lock } = await tryLock(t.warehouse, 'backfill:bitcoin:h1')
    try {
      const client = new CoincapClient({ apiUrl: server.url, apiKey: 'test-key', retries: 0 })
      const result = await runBackfill(t.warehouse, client, {
        assets: { ids: ['bitcoin'] },
        interval: 'h1',
        from: new Date('2025-01-01'),
        to: new Date('2025-04-01'),
        version: 'test',
        now: () => NOW,
      })
      expect([result.status, result.assets[0]?.status, server.history.length]).toEqual(['skipped', 'skipped', 0])
    } finally {
      await lock?.release()
    }
  })
})
