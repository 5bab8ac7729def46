/**
 * Drills of answers that are legal JSON but wrong: values no column can hold, ids that differ only in case,
 * clocks ahead, points outside the window or centuries ahead, ranks that shift between pages; and the
 * bloat of dimension rows rewritten on every run. Each bad record is a rejected record, the rest loads.
 */
import { writeFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { runCli } from '../../helpers/cli.js'
import { makeAssets } from '../../helpers/coincap-fixtures.js'
import { startHistoryServer } from '../../helpers/history-server.js'
import { cleanupDrills, DRILL_NOW, type DrillTarget, fixture, prepareTarget, tempDir } from '../../helpers/drills.js'
import { TARGETS, type Target } from '../../helpers/warehouse.js'

type Intercept = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>

const servers: FixtureServer[] = []
afterAll(async () => {
  for (const s of servers) await s.close()
  await cleanupDrills()
})

async function setup(target: Target, label: string, intercept?: Intercept, now = () => DRILL_NOW) {
  const server = await startFixtureServer({ now, intercept })
  servers.push(server)
  return { ...(await prepareTarget(target, label, server.url)), server }
}

function json(res: ServerResponse, body: unknown): true {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  return true
}

const LONG_ID = 'x'.repeat(9000)
/** Each CLI run's limit: the embedded database starts slowly on a busy machine. */
const SLOW = 120_000
const YEAR_10000 = Date.UTC(10000, 0, 1)

/** Records of each dataset that Postgres cannot hold, by what is wrong with them. */
async function hostileAnswers() {
  const [assets, exchanges, markets, rates] = await Promise.all(
    ['assets', 'exchanges', 'markets', 'rates'].map((name) => fixture(name)),
  )
  const asset = (i: number, change: Record<string, unknown>) => ({ ...assets!.data[i], ...change })
  const exchange = (i: number, change: Record<string, unknown>) => ({ ...exchanges!.data[i], ...change })
  const market = (i: number, change: Record<string, unknown>) => ({ ...markets!.data[i], ...change })
  const rate = (i: number, change: Record<string, unknown>) => ({ ...rates!.data[i], ...change })
  const badAssets = [
    asset(90, { rank: '3000000000' }),
    asset(91, { rank: '-1' }),
    asset(92, { rank: '1e3' }),
    asset(93, { priceUsd: 'NaN' }),
    asset(94, { marketCapUsd: 'Infinity' }),
    asset(95, { id: LONG_ID }),
    asset(96, { id: 'bit\u0000coin' }),
    asset(97, { id: 'Bitcoin' }),
  ]
  const badExchanges = [
    exchange(10, { tradingPairs: '100000000000' }),
    exchange(11, { updated: YEAR_10000 }),
    exchange(12, { exchangeId: LONG_ID }),
    exchange(13, { rank: '2147483648' }),
  ]
  const badMarkets = [
    market(14, { tradesCount24Hr: '12345678901234567890' }),
    market(15, { rank: '3000000000' }),
    market(16, { baseId: LONG_ID }),
    market(17, { updated: YEAR_10000 }),
  ]
  const badRates = [rate(14, { id: LONG_ID }), rate(15, { rateUsd: '-Infinity' })]
  return {
    assets: [...assets!.data.slice(0, 90), ...badAssets, asset(98, { supply: '1.5e7' }), asset(99, {})],
    exchanges: [...exchanges!.data.slice(0, 10), ...badExchanges],
    markets: [...markets!.data.slice(0, 14), ...badMarkets],
    rates: [...rates!.data.slice(0, 14), ...badRates],
  }
}

describe.concurrent.each(TARGETS)('answers that are legal JSON but wrong, on the %s database', (target) => {
  it(
    'rejects each value Postgres cannot hold and loads the rest of every dataset: exit 0',
    { timeout: SLOW },
    async () => {
      const answers = await hostileAnswers()
      const t = await setup(target, 'unholdable', (_req, res, url) => {
        const dataset = url.pathname.replace('/v3/', '') as keyof typeof answers
        return dataset in answers ? json(res, { data: answers[dataset], timestamp: DRILL_NOW }) : false
      })
      const r = await runCli(['run', '--datasets', 'assets,exchanges,markets,rates', '--json'], {
        env: t.env,
        timeoutMs: SLOW,
      })
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).datasets).toEqual([
        { dataset: 'assets', status: 'ok', rows: 92, records: 100, rejected: 8 },
        { dataset: 'exchanges', status: 'ok', rows: 10, records: 14, rejected: 4 },
        { dataset: 'markets', status: 'ok', rows: 14, records: 18, rejected: 4 },
        { dataset: 'rates', status: 'ok', rows: 14, records: 16, rejected: 2 },
      ])
      expect(await t.count('assets')).toBe(92)
      expect(await t.count(`asset_snapshots where lower(asset_id) = 'bitcoin'`)).toBe(1)
      expect(await t.count(`asset_snapshots where supply = 15000000`)).toBe(1)
      const reasons = await t.query<{ dataset: string; reason: string }>(
        'select dataset, reason from rejected_records order by dataset, reason',
      )
      expect(reasons).toEqual([
        { dataset: 'assets', reason: 'id: contains a NUL character' },
        { dataset: 'assets', reason: "id: id 'Bitcoin' has capital letters (CoinCap ids are lowercase)" },
        { dataset: 'assets', reason: 'id: id longer than 200 characters' },
        { dataset: 'assets', reason: 'marketCapUsd: expected a decimal string' },
        { dataset: 'assets', reason: 'priceUsd: expected a decimal string' },
        { dataset: 'assets', reason: 'rank: expected an integer from 1 to 2147483647' },
        { dataset: 'assets', reason: 'rank: expected an integer from 1 to 2147483647' },
        { dataset: 'assets', reason: 'rank: expected an integer string' },
        { dataset: 'exchanges', reason: 'exchangeId: id longer than 200 characters' },
        { dataset: 'exchanges', reason: 'rank: expected an integer from 1 to 2147483647' },
        { dataset: 'exchanges', reason: 'tradingPairs: expected an integer from 0 to 2147483647' },
        { dataset: 'exchanges', reason: 'updated: expected a time before the year 10000' },
        { dataset: 'markets', reason: 'baseId: id longer than 200 characters' },
        { dataset: 'markets', reason: 'rank: expected an integer from 1 to 2147483647' },
        { dataset: 'markets', reason: 'tradesCount24Hr: expected an integer from 0 to 9223372036854775807' },
        { dataset: 'markets', reason: 'updated: expected a time before the year 10000' },
        { dataset: 'rates', reason: 'id: id longer than 200 characters' },
        { dataset: 'rates', reason: 'rateUsd: expected a decimal string' },
      ])
    },
  )

  it(
    'keeps a snapshot stamped an hour ahead with the time it arrived: latest, status and prune stay true',
    { timeout: SLOW },
    async () => {
      let ahead = 3_600_000
      const t = await setup(target, 'clock_ahead', undefined, () => Date.now() + ahead)
      const before = Date.now()
      const first = await runCli(['run', '--datasets', 'rates'], { env: t.env, timeoutMs: SLOW })
      expect(first.code, first.stderr).toBe(0)
      expect(first.stderr).toMatch(
        /CoinCap's answer is stamped 3[56]\d\d s ahead of this clock: kept with the time it arrived\./,
      )
      const [stored] = await t.query<{ at: Date }>('select max(observed_at) as at from rate_snapshots')
      expect(stored!.at.getTime()).toBeGreaterThanOrEqual(before)
      expect(stored!.at.getTime()).toBeLessThanOrEqual(Date.now())
      ahead = 0
      const secondStarted = Date.now()
      const second = await runCli(['run', '--datasets', 'rates'], { env: t.env, timeoutMs: SLOW })
      expect(second.code).toBe(0)
      const observed = await t.query<{ at: Date; n: number }>(
        'select observed_at as at, count(*)::int as n from rate_snapshots group by 1 order by 1',
      )
      expect(observed.map((o) => o.n)).toEqual([16, 16])
      // The second run is the latest: nothing of the first hides it, and nothing is stored ahead of now.
      expect(observed[1]!.at.getTime()).toBeGreaterThanOrEqual(secondStarted)
      expect(await t.count(`rate_snapshots where observed_at > now()`)).toBe(0)
    },
  )

  it(
    'writes a dimension row only when something in it changed: identical runs leave every row version',
    { timeout: 3 * SLOW },
    async () => {
      let now = DRILL_NOW
      let rename = false
      const assets = await fixture('assets')
      const t = await setup(
        target,
        'bloat',
        (_req, res, url) =>
          url.pathname === '/v3/assets' && rename
            ? json(res, {
                data: [{ ...assets.data[0], name: 'Bitcoin (renamed)' }, ...assets.data.slice(1)],
                timestamp: now,
              })
            : false,
        () => now,
      )
      const versions = () =>
        t.query<{ id: string; v: string }>(
          `select asset_id as id, xmin::text as v from assets union all
         select exchange_id, xmin::text from exchanges order by 1`,
        )
      expect((await runCli(['run'], { env: t.env, timeoutMs: SLOW })).code).toBe(0)
      const first = await versions()
      for (const step of [1, 2]) {
        now = DRILL_NOW + step * 300_000 // cron every five minutes
        expect((await runCli(['run'], { env: t.env, timeoutMs: SLOW })).code).toBe(0)
      }
      expect(await versions()).toEqual(first)
      rename = true
      expect((await runCli(['run'], { env: t.env, timeoutMs: SLOW })).code).toBe(0)
      const renamed = await versions()
      expect(renamed.filter((row, i) => row.v !== first[i]!.v).map((row) => row.id)).toEqual(['bitcoin'])
      expect(await t.query(`select name from assets where asset_id = 'bitcoin'`)).toEqual([
        { name: 'Bitcoin (renamed)' },
      ])
      // last_seen_at still moves, once it lags by more than an hour.
      now = DRILL_NOW + 2 * 3_600_000
      expect((await runCli(['run'], { env: t.env, timeoutMs: SLOW })).code).toBe(0)
      const [seen] = await t.query<{ n: number }>(
        `select count(*)::int as n from assets where last_seen_at = '${new Date(now).toISOString()}'`,
      )
      expect(seen!.n).toBe(100)
    },
  )
})

describe.concurrent('pagination and history bounds (server database)', () => {
  it('loses and repeats no asset when ranks shift between the two pages of --limit 2500', async () => {
    const all = makeAssets(3000)
    // After the first page, the five assets ranked 1996-2000 swap with the five ranked 2001-2005.
    const shifted = [...all.slice(0, 1995), ...all.slice(2000, 2005), ...all.slice(1995, 2000), ...all.slice(2005)]
    let pages = 0
    const t = await setup('server', 'shift', (_req, res, url) => {
      if (url.pathname !== '/v3/assets') return false
      const list = pages++ === 0 ? all : shifted
      const offset = Number(url.searchParams.get('offset'))
      return json(res, {
        data: list.slice(offset, offset + Number(url.searchParams.get('limit'))),
        timestamp: DRILL_NOW,
      })
    })
    const r = await runCli(['run', '--datasets', 'assets', '--limit', '2500', '--json'], { env: t.env })
    expect(r.code, r.stderr).toBe(0)
    expect(t.server.requests).toEqual(['/v3/assets?limit=2000&offset=0', '/v3/assets?limit=550&offset=1950'])
    expect(await t.count('asset_snapshots')).toBe(2500)
    const [ids] = await t.query<{ n: number; first: number }>(
      `select count(distinct asset_id)::int as n, count(*) filter (where asset_id in (${all
        .slice(0, 2500)
        .map((a) => `'${String(a.id)}'`)
        .join(',')}))::int as first from asset_snapshots`,
    )
    expect(ids).toEqual({ n: 2500, first: 2500 })
  })

  it('rejects history points outside the window or past now, and creates no partition for them', async () => {
    const now = Date.now()
    const hour = 3_600_000
    const from = Math.floor(now / hour) * hour - 48 * hour
    const wild = [
      Date.UTC(2200, 0, 1),
      Date.UTC(3000, 0, 1),
      from - 24 * hour,
      now + hour,
      -hour,
      Date.UTC(9999, 11, 31),
    ].map((time) => ({ priceUsd: '1', time, date: 'x' }))
    const t = await setup('server', 'future_points', async (_req, res, url) => {
      if (!/\/history$/.test(url.pathname)) return false
      const start = Number(url.searchParams.get('start'))
      const end = Number(url.searchParams.get('end'))
      const data = []
      for (let time = Math.ceil(start / hour) * hour; time <= end; time += hour) {
        data.push({ priceUsd: '2', time, date: new Date(time).toISOString() })
      }
      return json(res, { data: [...data, ...wild], timestamp: now })
    })
    const r = await runCli(
      ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', new Date(from).toISOString(), '--json'],
      { env: t.env, timeoutMs: 60_000 },
    )
    expect(r.code, r.stderr).toBe(0)
    const stored = await t.count('asset_history')
    expect(stored).toBeGreaterThanOrEqual(45)
    expect(stored).toBeLessThanOrEqual(48)
    expect(await t.count(`asset_history where ts > now()`)).toBe(0)
    expect(await t.count(`backfill_windows where status <> 'done'`)).toBe(0)
    expect(await rejectionReasons(t)).toEqual([
      { reason: 'time: T is outside the window asked for (T to T)', n: 5 },
      { reason: 'time: Too small: expected number to be >=0', n: 1 },
    ])
    const partitions = await t.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
       join pg_namespace n on n.oid = c.relnamespace where n.nspname = '${t.schema}' and c.relname like 'asset_history_p%'`,
    )
    expect(partitions.length).toBeLessThanOrEqual(2)
  })
})

describe.concurrent('capped history answers (server database)', () => {
  const day = ['--interval', 'm1', '--from', '2026-01-10', '--to', '2026-01-11']
  const minute = 60_000
  const start = Date.UTC(2026, 0, 10)

  it('asks again for the end an answer capped at a round count left out, and --fill-gaps has nothing left', async () => {
    const server = await startHistoryServer({ assets: ['bitcoin'], maxPoints: 1400 })
    servers.push(server)
    const t = await prepareTarget('server', 'capped', server.url)
    const r = await runCli(['backfill', '--assets', 'bitcoin', ...day, '--json'], { env: t.env, timeoutMs: SLOW })
    expect(r.code, r.stderr).toBe(0)
    expect(server.history.map((q) => [(q.start - start) / minute, (q.end + 1 - start) / minute])).toEqual([
      [0, 1440],
      [1400, 1440],
    ])
    expect(await t.count('asset_history')).toBe(1440)
    expect(await t.query('select status, rows from backfill_windows')).toEqual([{ status: 'done', rows: 1440 }])
    server.history.length = 0
    const fill = await runCli(['backfill', '--assets', 'bitcoin', ...day, '--fill-gaps'], { env: t.env })
    expect(fill.code, fill.stderr).toBe(0)
    expect(server.history).toEqual([])
  })

  it('takes a missing end after a count that is not round for a hole at the source: one request', async () => {
    const server = await startHistoryServer({ assets: ['bitcoin'], until: start + 1420 * minute })
    servers.push(server)
    const t = await prepareTarget('server', 'hole_at_end', server.url)
    const r = await runCli(['backfill', '--assets', 'bitcoin', ...day], { env: t.env, timeoutMs: SLOW })
    expect(r.code, r.stderr).toBe(0)
    expect(server.history).toHaveLength(1)
    expect(await t.query('select status, rows from backfill_windows')).toEqual([{ status: 'done', rows: 1420 }])
  })
})

describe.concurrent.each(TARGETS)('landing files past now, on the %s database', (target) => {
  it(
    'load rejects history points and snapshots stamped past now plus the skew, and loads the rest',
    { timeout: SLOW },
    async () => {
      const t: DrillTarget = await prepareTarget(target, 'landing_future')
      const dir = await tempDir('landing_future')
      const now = Date.now()
      const hour = 3_600_000
      const past = Math.floor(now / hour) * hour - 5 * hour
      const points = [past, past + hour, Date.UTC(2200, 0, 1), now + hour, Date.UTC(3000, 5, 1)].map((time) => ({
        priceUsd: '3',
        time,
        date: 'x',
      }))
      const rates = await fixture('rates')
      const lines = [
        { dataset: 'history', asset: 'bitcoin', interval: 'h1', timestamp: now, data: points },
        { dataset: 'rates', timestamp: now + hour, data: rates.data.slice(0, 3) },
        { dataset: 'rates', timestamp: Date.UTC(3000, 0, 1), data: rates.data.slice(3, 5) },
        { dataset: 'rates', timestamp: now, data: rates.data.slice(5, 9) },
        { dataset: 'history', asset: LONG_ID, interval: 'h1', timestamp: now, data: points.slice(0, 2) },
      ]
      const file = join(dir, 'future.ndjson')
      await writeFile(file, lines.map((l) => `${JSON.stringify(l)}\n`).join(''))
      const r = await runCli(['load', file, '--json'], { env: t.env, timeoutMs: SLOW })
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: { history: 2, rates: 4 }, rejected: 10 })
      expect(await t.count('asset_history')).toBe(2)
      expect(await t.count('rate_snapshots')).toBe(4)
      expect(await rejectionReasons(t)).toEqual([
        { reason: 'asset: id longer than 200 characters', n: 2 },
        { reason: "the answer's timestamp T is after now plus 5 minutes (a clock ahead?)", n: 5 },
        { reason: 'time: T is after now plus 5 minutes', n: 3 },
      ])
      const again = await runCli(['load', file, '--json'], { env: t.env, timeoutMs: SLOW })
      expect(again.code).toBe(0)
      expect(await t.count('rejected_records')).toBe(10)
    },
  )
})

/** The reasons of the rejected records, times written T, with how many records each. */
function rejectionReasons(t: DrillTarget): Promise<{ reason: string; n: number }[]> {
  return t.query(
    `select regexp_replace(reason, '[-+0-9:.TZ]{13,}', 'T', 'g') as reason, count(*)::int as n
     from rejected_records group by 1 order by 1`,
  )
}
