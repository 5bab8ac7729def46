/**
 * Database settings the user does not control: a role (server) or the configuration file (embedded)
 * sets DateStyle, TimeZone, IntervalStyle, extra_float_digits and friends, and every command still reads
 * exact times and counts. Once, DMY dates were read as MDY: `prune --older-than 30d` dropped the newest
 * days, `status` called stale data healthy, and `query` failed.
 */
import { appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate } from '../../../src/warehouse/migrate.js'
import { runCli, startCli } from '../../helpers/cli.js'
import {
  adminSql,
  cleanupDrills,
  type DrillTarget,
  expectCleanFailure,
  fixture,
  onCleanup,
  prepareTarget,
  waitFor,
} from '../../helpers/drills.js'
import { type Target, uniqueSchema } from '../../helpers/warehouse.js'

afterAll(cleanupDrills)

/** Settings a DBA might give a role or a cluster, each far from what crypto-etl reads values under. */
const HOSTILE: Record<string, Record<string, string>> = {
  'SQL, DMY': {
    DateStyle: 'SQL, DMY',
    TimeZone: 'Pacific/Chatham',
    IntervalStyle: 'sql_standard',
    extra_float_digits: '-15',
  },
  'German, DMY': {
    DateStyle: 'German, DMY',
    TimeZone: 'America/St_Johns',
    IntervalStyle: 'iso_8601',
    extra_float_digits: '0',
    bytea_output: 'escape',
    standard_conforming_strings: 'off',
  },
  'Postgres, DMY': {
    DateStyle: 'Postgres, DMY',
    TimeZone: 'Asia/Kathmandu',
    IntervalStyle: 'postgres_verbose',
    extra_float_digits: '-10',
  },
}

const RATE_ROWS = 960
/** Rates are hourly, each half an hour off the hour: the rows of the first 240 hours after day 30. */
const RATES_OLDER_THAN_30D = 240

/** Hourly rates for 40 days (half an hour off the hour: no row near a cutoff), two assets, one run. */
function seedSql(schema: string): string[] {
  return [
    `select ensure_partitions('${schema}', 'rate_snapshots', now() - interval '41 days', now()),
      ensure_partitions('${schema}', 'asset_snapshots', now() - interval '1 day', now())`,
    // Times in whole milliseconds, as CoinCap's are; returns the newest observation.
    `with t as (select date_trunc('milliseconds', now()) as now), rates as (
      insert into rate_snapshots (rate_id, observed_at, symbol, rate_usd)
      select 'euro', t.now - make_interval(hours => k) - interval '30 minutes', 'EUR', 1.08
      from t, generate_series(0, ${RATE_ROWS - 1}) k
    ), dims as (
      insert into assets (asset_id, symbol, name, first_seen_at, last_seen_at)
      values ('bitcoin', 'BTC', 'Bitcoin', now(), now()), ('ethereum', 'ETH', 'Ethereum', now(), now())
    ), snapshots as (
      insert into asset_snapshots (asset_id, observed_at, rank, price_usd)
      select id, t.now - interval '30 minutes', rank, price from t,
        (values ('bitcoin', 1, 80000.5), ('ethereum', 2, 3000.25)) v(id, rank, price)
    ), run as (
      insert into etl_runs (command, started_at, finished_at, status, datasets, rows)
      values ('run', now() - interval '31 minutes', now() - interval '30 minutes', 'ok', '{assets,rates}',
        '{"assets": 2, "rates": ${RATE_ROWS}}')
    )
    select floor(extract(epoch from t.now - interval '30 minutes') * 1000)::int8::text as ms from t`,
  ]
}

/**
 * A seeded target whose sessions start with `settings`: on a server a role of its own (`ALTER ROLE ...
 * SET`), which also migrates it; on the embedded database the lines of its postgresql.conf. Returns the
 * target and the newest observation (ISO).
 */
async function hostileTarget(target: Target, settings: Record<string, string>): Promise<[DrillTarget, string]> {
  const t = await prepareTarget(target, 'settings')
  const [ensure, seed] = seedSql(t.schema)
  let newestMs: string
  if (target === 'server') {
    t.env.DATABASE_URL = await asRoleWith(t, settings)
    expect((await runCli(['migrate'], { env: t.env })).code).toBe(0)
    await t.query(ensure!)
    newestMs = (await t.query<{ ms: string }>(seed!))[0]!.ms
  } else {
    // The embedded database opens in seconds: one connection for all of it.
    newestMs = await t.use(async (warehouse) => {
      await migrate(warehouse)
      await warehouse.sql.unsafe(ensure!)
      return (await warehouse.sql.unsafe<{ ms: string }[]>(seed!))[0]!.ms
    })
    const lines = Object.entries(settings).map(([name, value]) => `${name} = '${value}'`)
    await appendFile(join(t.dir!, 'pgdata', 'postgresql.conf'), `\n${lines.join('\n')}\n`)
  }
  return [t, new Date(Number(newestMs)).toISOString()]
}

/** Every style on the server; on the slower embedded database (seconds per command) one. */
const CASES = [...Object.keys(HOSTILE).map((style) => ['server', style] as const), ['embedded', 'SQL, DMY'] as const]

describe('session settings of the database are pinned', () => {
  it.each(CASES)(
    '%s, DateStyle %s: prune, status and query give exact answers',
    { timeout: 120_000 },
    async (target, style) => {
      const [t, newestRate] = await hostileTarget(target, HOSTILE[style]!)

      const healthy = await runCli(['status', '--max-age', '1h', '--json'], { env: t.env })
      expect(healthy.code, healthy.stderr).toBe(0)
      const status = JSON.parse(healthy.stdout)
      expect(status.datasets.find((d: { dataset: string }) => d.dataset === 'rates').newest).toBe(newestRate)
      expect(status.tables.find((s: { table: string }) => s.table === 'rate_snapshots').rows).toBe(RATE_ROWS)
      expect(status.runs.map((r: { run_id: number; rows: number }) => [r.run_id, r.rows])).toEqual([[1, RATE_ROWS + 2]])

      const stale = await runCli(['status', '--max-age', '15m'], { env: t.env })
      expect(stale.code).toBe(1)
      expect(stale.stderr).toMatch(
        new RegExp(`^unhealthy: rates: newest data is 30m\\d*s? old \\(${newestRate}\\), older than 15m$`, 'm'),
      )

      const latest = await runCli(['query', '--format', 'json'], { env: t.env })
      expect(latest.code, latest.stderr).toBe(0)
      expect(JSON.parse(latest.stdout).map((r: { asset_id: string; observed_at: string }) => r.observed_at)).toEqual([
        newestRate,
        newestRate,
      ])
      const select = "select max(observed_at) as at, interval '90 minutes' as i, 0.1::float8 as f from rate_snapshots"
      const sql = await runCli(['query', '--sql', select, '--format', 'csv'], { env: t.env })
      expect(sql.code, sql.stderr).toBe(0)
      expect(sql.stdout).toBe(`at,i,f\n${newestRate},01:30:00,0.1\n`)

      const pruned = await runCli(['prune', '--older-than', '30d', '--datasets', 'rates', '--json'], { env: t.env })
      expect(pruned.code, pruned.stderr).toBe(0)
      expect(JSON.parse(pruned.stdout).rows).toBe(RATES_OLDER_THAN_30D)
      const [left] = await t.query<{ n: number; ms: string }>(
        'select count(*)::int as n, floor(extract(epoch from max(observed_at)) * 1000)::int8::text as ms from rate_snapshots',
      )
      expect(left).toEqual({ n: RATE_ROWS - RATES_OLDER_THAN_30D, ms: String(Date.parse(newestRate)) })
    },
  )
})

describe('timeouts a role imposes', () => {
  it('statement_timeout = 1ms: commands exit 74 with one or two lines, no stack trace', async () => {
    const t = await prepareTarget('server', 'timeouts')
    const env = { ...t.env, DATABASE_URL: await asRoleWith(t, { statement_timeout: '1ms' }) }
    // Without a warehouse (migrate failed) status and query exit 78 naming it; here their own first statements fail.
    for (const args of [['migrate'], ['status'], ['query'], ['load', '-']]) {
      const r = await runCli(args, { env, input: '' })
      expect(expectCleanFailure(r, 74).join('\n'), args.join(' ')).toMatch(/statement timeout/)
    }
  })

  it('idle_in_transaction_session_timeout: a load whose input pauses longer exits 74, writing nothing', async () => {
    const t = await prepareTarget('server', 'idle_timeout')
    expect((await runCli(['migrate'], { env: t.env })).code).toBe(0)
    const env = { ...t.env, DATABASE_URL: await asRoleWith(t, { idle_in_transaction_session_timeout: '500ms' }) }
    const { data, timestamp } = await fixture('rates')
    const line = `${JSON.stringify({ dataset: 'rates', timestamp, data })}\n`
    const { child, done } = startCli(['load', '-'], { env, holdStdin: true })
    child.stdin!.write(line)
    // The load's transaction waits for the next line until the server ends its session: a pause the test
    // makes, so the outcome does not hang on whether two statements were a millisecond apart.
    const inTransaction = new Set<number>()
    await waitFor(async () => {
      const backends = await adminSql()<{ pid: number; tx: boolean }[]>`
        select pid, xact_start is not null as tx from pg_stat_activity where application_name = ${t.appName}`
      for (const b of backends) if (b.tx) inTransaction.add(b.pid)
      return [...inTransaction].some((pid) => !backends.some((b) => b.pid === pid))
    })
    child.stdin!.end(line)
    const r = await done
    expect(expectCleanFailure(r, 74).join('\n')).toMatch(/database/i)
    expect(await t.count('rate_snapshots')).toBe(0)
    expect(await t.query('select command, status from etl_runs')).toEqual([{ command: 'load', status: 'failed' }])
  })
})

/** A superuser role of its own for `t` with `settings` (ALTER ROLE ... SET); its URL (same application_name). */
async function asRoleWith(t: DrillTarget, settings: Record<string, string>): Promise<string> {
  const role = uniqueSchema('role')
  const admin = adminSql()
  await admin.unsafe(`create role ${role} login superuser`)
  for (const [name, value] of Object.entries(settings))
    await admin.unsafe(`alter role ${role} set ${name} = '${value}'`)
  onCleanup(() => admin.unsafe(`drop owned by ${role} cascade; drop role ${role}`).simple())
  return t.env.DATABASE_URL!.replace('//postgres@', `//${role}@`)
}
