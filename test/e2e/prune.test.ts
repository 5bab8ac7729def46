import { afterEach, describe, expect, it } from 'vitest'
import { migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions } from '../../src/warehouse/writing/partitions.js'
import { runCli } from '../helpers/cli.js'
import { openTestWarehouse, type Target, type TestWarehouse } from '../helpers/warehouse.js'

const HOUR = 3_600_000
/** 60 days of snapshots, one every hour at half past, so no row sits within minutes of a 30-day cutoff. */
const HOURS = 60 * 24
const KEPT = 30 * 24

const opened: TestWarehouse[] = []
afterEach(async () => {
  for (const t of opened.splice(0)) await t.cleanup()
})

/** A migrated warehouse holding 60 days of hourly asset snapshots (bitcoin, ethereum) and rates (usd). */
async function prepare(target: Target = 'server') {
  const t = await openTestWarehouse(target, 'e2e_prune')
  opened.push(t)
  const { sql, schema } = t.warehouse
  await migrate(t.warehouse)
  const now = Date.now()
  const times = Array.from({ length: HOURS }, (_, i) => new Date(now - (i + 0.5) * HOUR).toISOString())
  for (const table of ['asset_snapshots', 'rate_snapshots'] as const) {
    await ensurePartitions(sql, schema, table, new Date(now - HOURS * HOUR), new Date(now))
  }
  await sql`insert into ${sql(schema)}.asset_snapshots (asset_id, observed_at, price_usd)
    select a, t, 1.25 from unnest(${sql.array(times)}::timestamptz[]) t, unnest(array['bitcoin', 'ethereum']) a`
  await sql`insert into ${sql(schema)}.rate_snapshots (rate_id, observed_at, symbol, rate_usd)
    select 'usd', t, 'USD', 1 from unnest(${sql.array(times)}::timestamptz[]) t`
  if (target === 'embedded') await t.warehouse.close()
  /** The rows `table` holds now. */
  const rows = async (table: string) => {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(schema)}.${sql(table)}`
    return row?.n ?? 0
  }
  return { env: t.env, sql, schema, rows }
}

/** A warehouse from {@link prepare} after `crypto-etl prune ...args`: its result `r`, and ways to look inside. */
async function afterPrune(args: string[], target?: Target) {
  const t = await prepare(target)
  return { ...t, r: await runCli(['prune', ...args], { env: t.env }) }
}

describe('crypto-etl prune', () => {
  it('refuses to run without a criterion: exit 2, one line, nothing deleted', async () => {
    const { r, rows } = await afterPrune([])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: Nothing to prune: give --older-than, --newer-than or --run\.\n/)
    expect(r.stderr.trim().split('\n')).toHaveLength(2)
    expect(await rows('asset_snapshots')).toBe(2 * HOURS)
    expect(await rows('etl_runs')).toBe(0)
  })

  it('refuses a bad duration with exit 2 and one line naming it, deleting nothing', async () => {
    const { r, rows } = await afterPrune(['--older-than', '30x'])
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toContain("'30x' is neither a date")
    expect(r.stderr).not.toMatch(/\s+at /)
    expect(await rows('asset_snapshots')).toBe(2 * HOURS)
  })

  it('refuses a run id that is not a number with exit 2 naming it', async () => {
    const { r } = await afterPrune(['--run', 'last'])
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toContain("'last' is not a run id")
  })

  it('says in a dry run what --older-than 30d would remove and deletes nothing', async () => {
    const { r, rows } = await afterPrune(['--older-than', '30d', '--dry-run'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/│ asset_snapshots +│ +1,440 │ +30 │/)
    expect(r.stdout).toMatch(/│ rate_snapshots +│ +720 │ +30 │/)
    expect(r.stdout).toContain('Dry run: would remove 2,160 rows and 60 partitions observed before ')
    expect(await rows('asset_snapshots')).toBe(2 * HOURS)
    expect(await rows('etl_runs')).toBe(0)
  })

  it('leaves exactly the last 30 days after --older-than 30d and says so in a table', async () => {
    const { r, sql, schema, rows } = await afterPrune(['--older-than', '30d'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/│ asset_snapshots +│ +1,440 │ +30 │/)
    expect(r.stdout).toMatch(/Removed 2,160 rows and 60 partitions observed before \S+ in \S+ \(etl_runs 1\)\./)
    expect(await rows('asset_snapshots')).toBe(2 * KEPT)
    expect(await rows('rate_snapshots')).toBe(KEPT)
    const [oldest] = await sql<{ age: number }[]>`
      select extract(epoch from now() - min(observed_at))::float / 3600 as age from ${sql(schema)}.asset_snapshots`
    expect(oldest?.age).toBeLessThan(30 * 24)
  })

  it('prints a JSON summary with --json, exact per-table counts and its etl_runs id', async () => {
    const { r, sql, schema, rows } = await afterPrune(['--older-than', '30d', '--datasets', 'assets', '--json'])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({
      dryRun: false,
      newerThan: null,
      run: null,
      rows: 1440,
      partitionsDropped: 30,
      runId: 1,
    })
    expect(out.tables).toEqual([
      expect.objectContaining({ table: 'asset_snapshots', dataset: 'assets', rows: 1440, partitionsDropped: 30 }),
    ])
    expect(await rows('rate_snapshots')).toBe(HOURS)
    const [run] = await sql`select command, status, rows from ${sql(schema)}.etl_runs`
    expect(run).toEqual({ command: 'prune', status: 'ok', rows: { asset_snapshots: 1440 } })
  })

  it('prunes the embedded database the same way', async () => {
    const { r, env } = await afterPrune(['--older-than', '30d', '--json'], 'embedded')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 2160, partitionsDropped: 60 })
    const again = await runCli(['prune', '--older-than', '30d', '--dry-run', '--json'], { env })
    expect(JSON.parse(again.stdout)).toMatchObject({ rows: 0, partitionsDropped: 0 })
  })
})
