/**
 * crypto-etl on Citus: `migrate --distributed` on the two-node cluster of `.ci/citus-cluster`, then the core
 * commands and every kind of prune, each compared with the same data on a single server.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requireCitus } from '../helpers/citus.js'
import { type CliResult, runCli } from '../helpers/cli.js'
import { startDashboard } from '../helpers/dashboard.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { type HistoryServer, startHistoryServer } from '../helpers/history-server.js'
import { schemaExists } from '../helpers/inspect.js'
import { uniqueSchema } from '../helpers/warehouse.js'

const API_KEY = 'citus-test-key-5521'
const HOUR = 3_600_000
/** Three days of hourly snapshots of 20 assets, at half past each hour so no row sits near a cutoff. */
const HOURS = 72
const ASSETS = 20
const FACT_TABLES = ['asset_snapshots', 'exchange_snapshots', 'market_snapshots', 'rate_snapshots', 'asset_history']
const BOOKKEEPING = ['etl_runs', 'rejected_records', 'backfill_windows', 'schema_migrations']

type Kind = 'single' | 'citus'
interface Target {
  kind: Kind
  url: string
  sql: postgres.Sql
  schemas: string[]
}
const targets = {} as Record<Kind, Target>
let history: HistoryServer
let work: string
let landing: string

beforeAll(async () => {
  const citusUrl = await requireCitus()
  for (const [kind, url] of [
    ['single', TEST_DATABASE_URL],
    ['citus', citusUrl],
  ] as const) {
    targets[kind] = { kind, url, sql: postgres(url, { max: 2, onnotice: () => {} }), schemas: [] }
  }
  history = await startHistoryServer()
  work = await mkdtemp(join(tmpdir(), 'crypto-etl-citus-'))
  landing = join(work, 'landing.ndjson')
  const extracted = await runCli(['extract', '--datasets', 'assets,exchanges,markets,rates', '-o', landing], {
    env: { COINCAP_API_URL: history.url, COINCAP_API_KEY: API_KEY },
  })
  expect(extracted.code).toBe(0)
})

afterAll(async () => {
  await history?.close()
  for (const t of Object.values(targets)) {
    for (const schema of t.schemas) await t.sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await t.sql.end()
  }
  if (work) await rm(work, { recursive: true, force: true })
})

/** A fresh schema on the target and the environment that points the CLI at it. */
function fresh(t: Target, label: string): Record<string, string> {
  const schema = uniqueSchema(`${label}_${t.kind}`)
  t.schemas.push(schema)
  return {
    DATABASE_URL: t.url,
    CRYPTO_ETL_SCHEMA: schema,
    COINCAP_API_URL: history.url,
    COINCAP_API_KEY: API_KEY,
    CRYPTO_ETL_API_RETRIES: '0',
  }
}

async function ok(args: string[], env: Record<string, string>): Promise<CliResult> {
  const r = await runCli(args, { env, timeoutMs: 60_000 })
  expect({ args, code: r.code, stderr: r.stderr }).toMatchObject({ args, code: 0 })
  return r
}

/** Migrates: plainly on the single server, with --distributed on Citus. */
async function migrateBoth(label: string): Promise<Record<Kind, Record<string, string>>> {
  const env = { single: fresh(targets.single, label), citus: fresh(targets.citus, label) }
  await ok(['migrate'], env.single)
  await ok(['migrate', '--distributed'], env.citus)
  return env
}

/**
 * The same 72 hours of snapshots of 20 assets (and their dimension rows) in both warehouses. Even assets
 * fall, odd ones rise, each by its own amount, so movers has both sides.
 */
async function seed(t: Target, schema: string, now: number): Promise<void> {
  const { sql } = t
  const times = Array.from({ length: HOURS }, (_, h) => new Date(now - (h + 0.5) * HOUR).toISOString())
  await sql`select ${sql(schema)}.ensure_partitions(${schema}, 'asset_snapshots', ${new Date(now - HOURS * HOUR)}, ${new Date(now)})`
  await sql`insert into ${sql(schema)}.assets (asset_id, symbol, name, first_seen_at, last_seen_at)
    select format('a%s', lpad(a::text, 2, '0')), format('S%s', a), format('Asset %s', a), now(), now()
    from generate_series(1, ${ASSETS}) a`
  await sql`insert into ${sql(schema)}.asset_snapshots (asset_id, observed_at, rank, price_usd, market_cap_usd)
    select format('a%s', lpad(a::text, 2, '0')), t, a,
      100 + a + (case when a % 2 = 0 then 1 else -1 end) * a * 0.01 * h, 1000000 * a
    from unnest(${sql.array(times)}::timestamptz[]) with ordinality u(t, h), generate_series(1, ${ASSETS}) a`
}

async function count(t: Target, schema: string, table: string): Promise<number> {
  const [row] = await t.sql<{ n: number }[]>`select count(*)::int as n from ${t.sql(schema)}.${t.sql(table)}`
  return row?.n ?? 0
}

const schemaOf = (env: Record<string, string>) => env.CRYPTO_ETL_SCHEMA!

describe('migrate --distributed', () => {
  it('shards the fact tables and the dimensions by entity id, co-located, and keeps the bookkeeping local', async () => {
    const env = fresh(targets.citus, 'citus_migrate')
    const first = await ok(['migrate', '--distributed'], env)
    expect(first.stdout.split('\n').filter((l) => !/^appl(y|ied) /i.test(l))).toEqual([
      'distributed asset_snapshots',
      'distributed assets',
      'distributed asset_history',
      'distributed exchange_snapshots',
      'distributed exchanges',
      'distributed market_snapshots',
      'distributed rate_snapshots',
      'Distributed 7 tables by entity id on the Citus cluster; bookkeeping tables stay on the coordinator.',
      '',
    ])
    const rows = await targets.citus.sql<{ table: string; column: string; method: string; colocation: number }[]>`
      select c.relname as table, column_to_column_name(p.logicalrelid, p.partkey) as column, p.partmethod as method,
        p.colocationid::int as colocation
      from pg_dist_partition p join pg_class c on c.oid = p.logicalrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schemaOf(env)} and not c.relispartition order by 1`
    expect(rows.map((r) => `${r.table}.${r.column}`)).toEqual([
      'asset_history.asset_id',
      'asset_snapshots.asset_id',
      'assets.asset_id',
      'exchange_snapshots.exchange_id',
      'exchanges.exchange_id',
      'market_snapshots.exchange_id',
      'rate_snapshots.rate_id',
    ])
    // Hash-distributed, every one of them.
    expect(rows.map((r) => r.method)).toEqual(Array(7).fill('h'))
    expect(new Set(rows.map((r) => r.colocation)).size).toBe(1)
    for (const table of BOOKKEEPING) expect(rows.map((r) => r.table)).not.toContain(table)
    const second = await ok(['migrate', '--distributed'], env)
    expect(second.stdout.split('\n').at(-2)).toBe(
      'Already distributed: 7 tables sharded by entity id on the Citus cluster.',
    )
  })

  it('redistributes a warehouse whose assets are a reference table (movers then works)', async () => {
    const env = fresh(targets.citus, 'citus_reference')
    const schema = schemaOf(env)
    const { sql } = targets.citus
    await ok(['migrate'], env)
    for (const table of FACT_TABLES) {
      const column =
        table.startsWith('exchange') || table === 'market_snapshots'
          ? 'exchange_id'
          : table === 'rate_snapshots'
            ? 'rate_id'
            : 'asset_id'
      await sql`select create_distributed_table(${`${schema}.${table}`}, ${column})`
    }
    await sql`select create_reference_table(${`${schema}.assets`})`
    await seed(targets.citus, schema, Date.now())
    const before = await runCli(['query', 'movers', '--since', '3d'], { env })
    expect(before.code).toBe(74)
    const r = await ok(['migrate', '--distributed'], env)
    expect(r.stdout.split('\n').filter((l) => l.startsWith('distributed '))).toEqual([
      'distributed assets',
      'distributed exchanges',
    ])
    const movers = await ok(['query', 'movers', '--since', '3d', '--format', 'json'], env)
    expect(JSON.parse(movers.stdout)).toHaveLength(2 * 10)
    expect(await count(targets.citus, schema, 'assets')).toBe(ASSETS)
  })

  it('exits 78 where Citus is not installed, and creates nothing', async () => {
    const env = fresh(targets.single, 'citus_refused')
    const r = await runCli(['migrate', '--distributed'], { env })
    expect(r.code).toBe(78)
    const where = new URL(TEST_DATABASE_URL)
    expect(r.stderr.split('\n')).toEqual([
      `Error: --distributed needs Citus, which is not installed in the database at ${where.hostname}:${where.port || 5432}${where.pathname}.`,
      "Install Citus on the server (shared_preload_libraries = 'citus', then create extension citus) and point --database-url at its coordinator, or migrate without --distributed.",
      '',
    ])
    expect(await schemaExists(targets.single.sql, schemaOf(env))).toBe(false)
  })

  it('exits 78 on the embedded database', async () => {
    const dir = await mkdtemp(join(work, 'embedded-'))
    const r = await runCli(['migrate', '--distributed'], { env: { CRYPTO_ETL_DATA_DIR: dir } })
    expect(r.code).toBe(78)
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: --distributed needs Citus, which is not installed in the embedded database in ${dir}.`,
    )
    expect(existsSync(join(dir, 'pgdata'))).toBe(false)
  })
})

describe('the core commands on Citus give the answers of a single server', () => {
  it('load, backfill, run, query latest/movers/history and status', async () => {
    const env = await migrateBoth('citus_core')
    const now = Date.now()
    for (const kind of ['single', 'citus'] as const) await seed(targets[kind], schemaOf(env[kind]), now)
    const both = async (args: string[]) => ({ single: await ok(args, env.single), citus: await ok(args, env.citus) })

    for (const args of [
      ['query', 'latest', '--format', 'json'],
      ['query', 'latest', '--symbol', 'S3,S4', '--format', 'json'],
      ['query', 'movers', '--since', '3d', '--limit', '5', '--format', 'json'],
      ['query', 'history', '--asset', 'a07', '--since', '3d', '--format', 'json'],
    ]) {
      const r = await both(args)
      expect(JSON.parse(r.citus.stdout)).toEqual(JSON.parse(r.single.stdout))
      expect(JSON.parse(r.citus.stdout).length).toBeGreaterThan(0)
    }

    await both(['load', landing])
    const backfill = 'backfill --assets bitcoin,ethereum --interval h1 --from 2025-01-01 --to 2025-02-01'.split(' ')
    await both(backfill)
    const h = await both(
      'query history --asset bitcoin --interval h1 --since 2025-01-01 --until 2025-02-01 --format json'.split(' '),
    )
    expect(JSON.parse(h.citus.stdout)).toEqual(JSON.parse(h.single.stdout))
    expect(JSON.parse(h.citus.stdout)).toHaveLength(31 * 24)
    await both(['run'])

    for (const table of [...FACT_TABLES, 'assets', 'exchanges', 'etl_runs', 'backfill_windows']) {
      const counts = [
        await count(targets.single, schemaOf(env.single), table),
        await count(targets.citus, schemaOf(env.citus), table),
      ]
      expect({ table, citus: counts[1] }).toEqual({ table, citus: counts[0] })
    }

    const status = await both(['status', '--json'])
    type Stats = { table: string; rows: number; bytes: number }[]
    const tables = (r: CliResult) => JSON.parse(r.stdout).tables as Stats
    const rowsOf = (s: Stats) => s.map(({ table, rows }) => ({ table, rows }))
    expect(rowsOf(tables(status.citus))).toEqual(rowsOf(tables(status.single)))
    // Sizes are the cluster's: summed over the shards on the workers, not the coordinator's empty shells.
    const { sql } = targets.citus
    const [cluster] = await sql<{ bytes: number; shells: number }[]>`
      select sum(citus_total_relation_size(inhrelid))::float8 as bytes, sum(pg_total_relation_size(inhrelid))::float8 as shells
      from pg_inherits where inhparent = ${`${schemaOf(env.citus)}.asset_snapshots`}::regclass`
    const snapshots = tables(status.citus).find((t) => t.table === 'asset_snapshots')!
    expect(snapshots.bytes).toBe(cluster!.bytes)
    expect(snapshots.bytes).toBeGreaterThan(cluster!.shells)

    // The BI views of migration 00005 answer on the cluster what query answers, and what they answer on one server.
    const latest = JSON.parse((await ok('query latest --limit 500 --format json'.split(' '), env.citus)).stdout)
    const view = async (kind: Kind, name: string, order: string) =>
      targets[kind].sql.unsafe(`select * from "${schemaOf(env[kind])}".${name} order by ${order}`)
    const prices = await view('citus', 'latest_prices', 'rank nulls last, asset_id')
    expect(prices.map((r) => [r.asset_id, r.symbol, r.price_usd, r.market_cap_usd])).toEqual(
      latest.map((r: Record<string, unknown>) => [r.asset_id, r.symbol, r.price, r.market_cap]),
    )
    expect(prices.length).toBeGreaterThan(0)
    // Each view answers on the cluster as many rows as on one server (the runs landed at other times, so their
    // observed_at differ); the seeded snapshots, the same in both, are the same rows.
    for (const [name, order] of [
      ['latest_prices', 'rank nulls last, asset_id'],
      ['price_points', 'asset_id, time, source, interval'],
      ['latest_exchanges', 'rank nulls last, exchange_id'],
      ['latest_markets', 'exchange_id, base_id, quote_id'],
      ['latest_rates', 'rate_id'],
      ['runs', 'run_id'],
    ] as const) {
      const rows = { single: await view('single', name, order), citus: await view('citus', name, order) }
      expect({ name, rows: rows.citus.length }).toEqual({ name, rows: rows.single.length })
      expect(rows.citus.length).toBeGreaterThan(0)
    }
    const seeded = async (kind: Kind) =>
      (await view(kind, 'price_points', 'time')).filter((r) => r.asset_id === 'a07').map(({ run_id: _, ...r }) => r)
    expect(await seeded('citus')).toEqual(await seeded('single'))
    expect(await seeded('citus')).toHaveLength(HOURS)
    const [described] = await sql<{ comment: string | null }[]>`
      select obj_description(${`${schemaOf(env.citus)}.latest_prices`}::regclass, 'pg_class') as comment`
    expect(described!.comment).toMatch(/^The newest price of each asset/)

    // The dashboard's endpoints answer on the cluster what query --json answers there.
    const dashboard = await startDashboard(env.citus)
    try {
      const api = async (path: string) => {
        const response = await fetch(new URL(path, dashboard.origin))
        expect({ path, status: response.status }).toEqual({ path, status: 200 })
        return (await response.json()) as Record<string, unknown>
      }
      const cli = async (args: string) => {
        const { target: _target, ...result } = JSON.parse((await ok([...args.split(' '), '--json'], env.citus)).stdout)
        return result as Record<string, unknown>
      }
      expect(await api('/api/latest')).toEqual(await cli('query latest --limit 50'))
      const chart = await api('/api/history?asset=a07&range=30d')
      expect(chart).toEqual(
        await cli(`query history --asset a07 --since ${chart.since} --until ${chart.until} --points 1440`),
      )
      expect((chart.rows as unknown[]).length).toBe(HOURS)
      expect((await api('/api/status')).datasets).toBeDefined()
    } finally {
      await dashboard.stop()
    }
  }, 240_000)
})

describe('prune on Citus does what it does on a single server', () => {
  it('--run, --older-than across a partition boundary, --newer-than, each with --dry-run first', async () => {
    const env = await migrateBoth('citus_prune')
    const now = Date.now()
    for (const kind of ['single', 'citus'] as const) {
      await seed(targets[kind], schemaOf(env[kind]), now)
      await ok(['run'], env[kind])
    }
    const runId = async (kind: Kind) => {
      const { sql } = targets[kind]
      const [row] = await sql<{ id: number }[]>`
        select run_id::int as id from ${sql(schemaOf(env[kind]))}.etl_runs where command = 'run'`
      return String(row!.id)
    }
    /** The prune's JSON without sizes and times (a cluster's sizes differ), and the rows left. */
    const prune = async (kind: Kind, args: string[]) => {
      const r = await ok(['prune', ...args, '--json'], env[kind])
      const result = JSON.parse(r.stdout) as {
        rows: number
        partitionsDropped: number
        tables: Record<string, unknown>[]
      }
      const tables = result.tables.map(({ table, rows, partitionsDropped, batches }) => ({
        table,
        rows,
        partitionsDropped,
        batches,
      }))
      const left = await count(targets[kind], schemaOf(env[kind]), 'asset_snapshots')
      return { rows: result.rows, partitionsDropped: result.partitionsDropped, tables, left }
    }
    const compare = async (args: (kind: Kind) => Promise<string[]>) => {
      const single = await prune('single', await args('single'))
      const citus = await prune('citus', await args('citus'))
      expect(citus).toEqual(single)
      return citus
    }

    const total = HOURS * ASSETS + 100
    const dryRun = await compare(async (k) => ['--run', await runId(k), '--dry-run'])
    expect(dryRun).toMatchObject({ rows: 130, left: total })
    expect(await compare(async (k) => ['--run', await runId(k)])).toMatchObject({ rows: 130, left: total - 100 })

    const older = await compare(async () => ['--older-than', '36h', '--dry-run'])
    expect(older).toMatchObject({ rows: 36 * ASSETS, left: total - 100 })
    expect(older.partitionsDropped).toBeGreaterThan(0)
    // Whole days older than the cutoff are dropped first, then the day it falls in is deleted from.
    const pruned = await compare(async () => ['--older-than', '36h'])
    expect(pruned).toMatchObject({ rows: 36 * ASSETS, left: 36 * ASSETS })
    expect(pruned.tables[0]!.batches).toBe(1)

    expect(await compare(async () => ['--newer-than', '5h', '--dry-run'])).toMatchObject({ rows: 5 * ASSETS })
    expect(await compare(async () => ['--newer-than', '5h'])).toMatchObject({ rows: 5 * ASSETS, left: 31 * ASSETS })
  }, 180_000)
})
