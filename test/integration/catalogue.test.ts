/** The catalogue against the migrated warehouse: every table, column, type and key it names exists as it says. */
import { describe, expect, it } from 'vitest'
import { CATALOGUE, type DatasetFacts, DATASETS, INTERVALS } from '../../src/catalogue/index.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { useTestWarehouse } from '../helpers/use-warehouse.js'

/** `format_type` spellings of the catalogue's types. */
const POSTGRES_TYPE: Record<string, string> = {
  text: 'text',
  int: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  timestamptz: 'timestamp with time zone',
  jsonb: 'jsonb',
}

describe('the catalogue matches the migrated warehouse', () => {
  const t = useTestWarehouse('server', 'catalogue', migrate)

  /** The columns of `table` in the test schema, in order, with their types as Postgres spells them. */
  function storedColumns(table: string) {
    const { sql, schema } = t.warehouse
    return sql<{ name: string; type: string }[]>`
      select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
      where a.attrelid = (quote_ident(${schema}) || '.' || quote_ident(${table}))::regclass
        and a.attnum > 0 and not a.attisdropped order by a.attnum`
  }

  it.each(DATASETS)('%s: its columns, their types and its primary key', async (dataset) => {
    const { sql, schema } = t.warehouse
    const { table, columns, key, timeColumn } = CATALOGUE[dataset]
    const stored = await storedColumns(table)
    expect(stored).toEqual(columns.map(([name, type]) => ({ name, type: POSTGRES_TYPE[type] })))
    const [pk] = await sql<{ columns: string[] }[]>`
      select array_agg(a.attname order by k.n)::text[] as columns
      from pg_index i cross join unnest(i.indkey) with ordinality as k(attnum, n)
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = (quote_ident(${schema}) || '.' || quote_ident(${table}))::regclass and i.indisprimary`
    expect(pk?.columns).toEqual(key)
    const [partitioned] = await sql<{ key: string }[]>`
      select pg_get_partkeydef((quote_ident(${schema}) || '.' || quote_ident(${table}))::regclass) as key`
    expect(partitioned?.key).toBe(`RANGE (${timeColumn})`)
  })

  it.each(DATASETS.filter((d) => 'dimension' in CATALOGUE[d]))(
    '%s: its dimension, keyed by its first column',
    async (d) => {
      const { sql, schema } = t.warehouse
      const { table, columns } = (CATALOGUE[d] as DatasetFacts).dimension!
      const stored = await storedColumns(table)
      expect(stored).toEqual([
        ...columns.map(([name, type]) => ({ name, type: POSTGRES_TYPE[type] })),
        { name: 'first_seen_at', type: 'timestamp with time zone' },
        { name: 'last_seen_at', type: 'timestamp with time zone' },
      ])
      const [pk] = await sql<{ columns: string[] }[]>`
      select array_agg(a.attname)::text[] as columns from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
      where i.indrelid = (quote_ident(${schema}) || '.' || quote_ident(${table}))::regclass and i.indisprimary`
      expect(pk?.columns).toEqual([columns[0]![0]])
    },
  )

  it("asset_history accepts exactly the catalogue's intervals", async () => {
    const { sql, schema } = t.warehouse
    const [check] = await sql<{ definition: string }[]>`
      select pg_get_constraintdef(c.oid) as definition from pg_constraint c
      where c.conrelid = (quote_ident(${schema}) || '.asset_history')::regclass and c.contype = 'c'`
    const allowed = [...(check?.definition ?? '').matchAll(/'(\w+)'::text/g)].map((m) => m[1])
    expect(allowed).toEqual(INTERVALS)
  })

  it("makes partitions of every dataset's table, by the catalogue's unit, and of no other", async () => {
    const { sql, schema } = t.warehouse
    const at = new Date('2024-03-05T12:00:00Z')
    for (const dataset of DATASETS) {
      const { table, partition } = CATALOGUE[dataset]
      const [row] = await sql<{ created: number }[]>`
        select ${sql(schema)}.ensure_partitions(${schema}, ${table}, ${at}, ${at}) as created`
      expect(row?.created).toBe(1)
      const parts = await sql<{ name: string; bound: string }[]>`
        select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = (quote_ident(${schema}) || '.' || quote_ident(${table}))::regclass`
      const [from, to] = partition === 'day' ? ['2024-03-05', '2024-03-06'] : ['2024-03-01', '2024-04-01']
      expect(parts).toEqual([
        {
          name: `${table}_p${from.replaceAll('-', '').slice(0, partition === 'day' ? 8 : 6)}`,
          bound: `FOR VALUES FROM ('${from} 00:00:00+00') TO ('${to} 00:00:00+00')`,
        },
      ])
    }
    await expect(sql`select ${sql(schema)}.ensure_partitions(${schema}, 'etl_runs', ${at}, ${at})`).rejects.toThrow()
  })
})
