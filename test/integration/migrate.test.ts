import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import { loadMigrations, migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions } from '../../src/warehouse/writing/partitions.js'
import { useTestWarehouse } from '../helpers/use-warehouse.js'
import { openTestWarehouse, TARGETS, WAREHOUSE_TABLES as TABLES } from '../helpers/warehouse.js'

describe.each(TARGETS)('migrations on the %s database', (target) => {
  const t = useTestWarehouse(target, `migrate_${target}`)

  it('applies every migration once, then nothing the second time', async () => {
    const all = await loadMigrations()
    const first = await migrate(t.warehouse)
    expect(first.applied.map((m) => m.version)).toEqual(all.map((m) => m.version))
    const second = await migrate(t.warehouse)
    expect(second.applied).toEqual([])
    expect(second.alreadyApplied).toBe(all.length)
    const rows = await t.warehouse
      .sql`select version, checksum from ${t.warehouse.sql(t.warehouse.schema)}.schema_migrations order by version`
    expect(rows.map((r) => [r.version, r.checksum])).toEqual(all.map((m) => [m.version, m.checksum]))
  })

  it('creates every table of the warehouse in the chosen schema', async () => {
    const rows = await t.warehouse.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables
      where table_schema = ${t.warehouse.schema} and table_type = 'BASE TABLE' and table_name not like '%\\_p%'
      order by table_name`
    expect(rows.map((r) => r.table_name)).toEqual(TABLES)
  })

  it('partitions snapshot and history tables by range on their time column', async () => {
    const rows = await t.warehouse.sql<{ relname: string; key: string }[]>`
      select c.relname, pg_get_partkeydef(c.oid) as key
      from pg_partitioned_table p join pg_class c on c.oid = p.partrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${t.warehouse.schema} order by c.relname`
    expect(rows.map((r) => [r.relname, r.key])).toEqual([
      ['asset_history', 'RANGE (ts)'],
      ['asset_snapshots', 'RANGE (observed_at)'],
      ['exchange_snapshots', 'RANGE (observed_at)'],
      ['market_snapshots', 'RANGE (observed_at)'],
      ['rate_snapshots', 'RANGE (observed_at)'],
    ])
  })

  it('stores money, supply and percent columns as numeric', async () => {
    const rows = await t.warehouse.sql<{ column_name: string; data_type: string }[]>`
      select column_name, data_type from information_schema.columns
      where table_schema = ${t.warehouse.schema} and table_name = 'asset_snapshots' order by ordinal_position`
    expect(Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]))).toEqual({
      asset_id: 'text',
      observed_at: 'timestamp with time zone',
      rank: 'integer',
      supply: 'numeric',
      max_supply: 'numeric',
      market_cap_usd: 'numeric',
      volume_usd_24h: 'numeric',
      price_usd: 'numeric',
      change_percent_24h: 'numeric',
      vwap_24h: 'numeric',
      run_id: 'bigint',
    })
  })

  it('creates the day partitions a load needs, once', async () => {
    const { sql, schema } = t.warehouse
    const from = new Date('2025-11-20T23:59:59Z')
    const to = new Date('2025-11-22T00:00:00Z')
    expect(await ensurePartitions(sql, schema, 'asset_snapshots', from, to)).toBe(3)
    expect(await ensurePartitions(sql, schema, 'asset_snapshots', from, to)).toBe(0)
    const parts = await sql<{ name: string; bound: string }[]>`
      select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = ${`${schema}.asset_snapshots`}::regclass order by c.relname`
    expect(parts.map((p) => p.name)).toEqual([
      'asset_snapshots_p20251120',
      'asset_snapshots_p20251121',
      'asset_snapshots_p20251122',
    ])
    await sql`insert into ${sql(schema)}.asset_snapshots (asset_id, observed_at, price_usd)
      values ('bitcoin', '2025-11-21T00:00:00Z', '80399.570000000006984919')`
    const [row] = await sql`select s.price_usd::text as price, c.relname as part
      from ${sql(schema)}.asset_snapshots s join pg_class c on c.oid = s.tableoid`
    expect(row).toEqual({ price: '80399.570000000006984919', part: 'asset_snapshots_p20251121' })
  })

  it('creates month partitions for history', async () => {
    const { sql, schema } = t.warehouse
    const created = await ensurePartitions(
      sql,
      schema,
      'asset_history',
      new Date('2024-12-15Z'),
      new Date('2025-02-01Z'),
    )
    expect(created).toBe(3)
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from pg_class where relname like 'asset\\_history\\_p2025%' and relkind = 'r' and relnamespace = ${schema}::regnamespace`
    expect(row?.n).toBe(2)
  })

  it('makes the partition functions run as their owner, on a pinned path, for this schema only', async () => {
    const { sql, schema } = t.warehouse
    const rows = await sql<{ name: string; definer: boolean; config: string[]; publicExecute: boolean }[]>`
      select proname as name, prosecdef as definer, proconfig as config,
        coalesce(proacl::text[], '{}') && array['=X/' || pg_get_userbyid(proowner)] as "publicExecute"
      from pg_proc where pronamespace = ${schema}::regnamespace order by proname`
    expect(rows).toEqual([
      { name: 'drop_partition', definer: true, config: [`search_path=${schema}, pg_temp`], publicExecute: false },
      { name: 'ensure_partitions', definer: true, config: [`search_path=${schema}, pg_temp`], publicExecute: false },
    ])
    const now = new Date('2025-11-21T00:00:00Z')
    await expect(
      sql`select ${sql(schema)}.ensure_partitions('public', 'asset_snapshots', ${now}, ${now})`,
    ).rejects.toThrow(`ensure_partitions: public.asset_snapshots is not a partitioned table of schema ${schema}`)
    await expect(sql`select ${sql(schema)}.drop_partition(${schema}, 'etl_runs', 'etl_runs')`).rejects.toMatchObject({
      code: '42501',
    })
    const [gone] =
      await sql`select ${sql(schema)}.drop_partition(${schema}, 'asset_snapshots', 'no_such_partition') as dropped`
    expect(gone).toEqual({ dropped: false })
  })

  it('refuses to go on when an applied migration was edited', async () => {
    const all = await loadMigrations()
    const edited = all.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m))
    await expect(migrate(t.warehouse, edited)).rejects.toBeInstanceOf(ConfigError)
    await expect(migrate(t.warehouse, edited)).rejects.toMatchObject({ exitCode: 78 })
  })
})

describe('concurrent migrations on the server', () => {
  it('apply each migration exactly once', async () => {
    const a = await openTestWarehouse('server', 'migrate_race')
    const b = await openTestWarehouse('server', 'migrate_race')
    try {
      // Both point at a's schema: two processes racing to set up the same warehouse.
      const bSame = { ...b.warehouse, schema: a.warehouse.schema }
      const [ra, rb] = await Promise.all([migrate(a.warehouse), migrate(bSame)])
      const total = await loadMigrations()
      expect(ra.applied.length + rb.applied.length).toBe(total.length)
      const [row] = await a.warehouse.sql<{ n: number }[]>`
        select count(*)::int as n from ${a.warehouse.sql(a.warehouse.schema)}.schema_migrations`
      expect(row?.n).toBe(total.length)
    } finally {
      await a.cleanup()
      await b.cleanup()
    }
  })
})
