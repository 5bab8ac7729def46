import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { adminConnection, warehouseQuery } from '../helpers/inspect.js'
import { seedWarehouse } from '../helpers/seed.js'
import { describeTarget } from '../../src/warehouse/connection/target.js'
import { openTestWarehouse, TARGETS, type TestWarehouse } from '../helpers/warehouse.js'

/** Where a statement that escaped would have written: nothing may ever appear here. */
const outside = mkdtempSync(join(tmpdir(), 'crypto-etl-sql-'))
const file = (name: string) => join(outside, name)

const REFUSED_AS_NOT_A_QUERY: [string, string][] = [
  [`copy (select 1) to '${file('copy')}'`, 'not COPY'],
  [`copy (select 1) to program 'touch ${file('program')}'`, 'not COPY'],
  [`/* a comment first */ DELETE from assets`, 'not DELETE'],
  ['explain analyze delete from assets', 'not EXPLAIN'],
  ['select 1; drop table assets', 'it takes one statement, and this has more'],
  ["select ';'; ; commit; delete from assets", 'it takes one statement, and this has more'],
]

const REFUSED_FUNCTIONS: [string, string][] = [
  ["select set_config('statement_timeout', '0', false)", 'set_config()'],
  [`select lo_export(1, '${file('lo')}')`, 'lo_export()'],
  [`select pg_catalog."lo_import"('/etc/hostname')`, 'lo_import()'],
  ["select nextval('etl_runs_run_id_seq')", 'nextval()'],
  ["select query_to_xml('delete from assets', true, true, '')", 'query_to_xml()'],
  ['select pg_advisory_lock(42)', 'pg_advisory_lock()'],
]

const REFUSED_BY_READ_ONLY = [
  'with gone as (delete from assets returning 1) select count(*) from gone',
  'select * into assets_copy from assets',
  'select * from assets for update',
]

describe.each(TARGETS)('query --sql on the %s database is one read-only query', (target) => {
  // The embedded database starts in each process: it takes a few of each kind, the server all of them.
  const some = <T>(cases: T[]) => (target === 'server' ? cases : cases.slice(0, 2))
  let t: TestWarehouse
  let inspect: <T>(text: string) => Promise<T[]>
  const admin = adminConnection()
  /** Everything a statement could have changed: rows, tables, the sequence, large objects. */
  const state = async () => ({
    assets: await inspect<{ n: number }>('select count(*)::int as n from assets'),
    tables: await inspect<{ t: string }>(
      "select string_agg(tablename, ',' order by tablename) as t from pg_tables where schemaname = current_schema()",
    ),
    sequence: await inspect<{ v: string }>('select last_value::text as v from etl_runs_run_id_seq'),
    largeObjects: await inspect<{ n: number }>('select count(*)::int as n from pg_largeobject_metadata'),
  })
  let before: Awaited<ReturnType<typeof state>>

  beforeAll(async () => {
    t = await openTestWarehouse(target, `e2e_query_sql_${target}`)
    await seedWarehouse(t.warehouse, new Date())
    if (target === 'embedded') await t.warehouse.close()
    inspect = warehouseQuery(target, admin, t.warehouse.schema, t.env)
    before = await state()
  })
  afterAll(async () => {
    expect(await state()).toEqual(before)
    expect(existsSync(file('copy')) || existsSync(file('program')) || existsSync(file('lo'))).toBe(false)
    await t?.cleanup()
    await admin.end()
  })

  it.each(some(REFUSED_AS_NOT_A_QUERY))('refuses %s with exit 2 before running it', async (statement, reason) => {
    const r = await runCli(['query', '--sql', statement], { env: t.env })
    expect(r.code).toBe(2)
    const line = r.stderr.split('\n')[0]!
    expect(line.startsWith('Error: --sql runs one read-only query: ')).toBe(true)
    expect(line).toContain(reason)
    expect(r.stdout).toBe('')
  })

  it.each(some(REFUSED_FUNCTIONS))('refuses %s: a function that changes something', async (statement, name) => {
    const r = await runCli(['query', '--sql', statement], { env: t.env })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toBe(
      `Error: --sql runs one read-only query: ${name} may change the database, the server or its files.`,
    )
  })

  it.each(some(REFUSED_BY_READ_ONLY))('refuses %s in its read-only transaction', async (statement) => {
    const r = await runCli(['query', '--sql', statement], { env: t.env })
    expect(r.code).toBe(2)
    expect(r.stderr.split('\n')[0]).toMatch(
      /^Error: --sql is read-only: cannot execute .+ in a read-only transaction\.$/,
    )
  })

  it('runs each kind of query it accepts: SELECT, WITH, VALUES, TABLE, parenthesised, with a trailing ;', async () => {
    const json = async (statement: string) => {
      const r = await runCli(['query', '--sql', statement, '--format', 'json'], { env: t.env })
      expect(r.stderr).toBe(`Warehouse: ${describeTarget(t.settings)}\n`)
      expect(r.code).toBe(0)
      return JSON.parse(r.stdout) as Record<string, unknown>[]
    }
    expect(await json('select count(*)::int as n from assets;')).toEqual([{ n: 6 }])
    expect(await json('with two as (select 2 as n) select n from two')).toEqual([{ n: 2 }])
    expect(await json("values (1, 'a')")).toEqual([{ column1: 1, column2: 'a' }])
    expect(await json('(select 1 as one)')).toEqual([{ one: 1 }])
    expect((await json('table assets')).length).toBe(6)
    // Strings and comments that look like a second statement are not one.
    expect(await json("select E'\\';' || $$; drop table assets$$ as s -- ; delete")).toEqual([
      { s: "';; drop table assets" },
    ])
    expect(await json('select random() < 2 as r')).toEqual([{ r: true }])
  })

  if (target === 'server') {
    it('refuses pg_file_write (adminpack) and cancels pg_sleep beyond the 30 s timeout', async () => {
      await admin`create extension if not exists adminpack`
      const write = await runCli(['query', '--sql', `select pg_file_write('${file('admin')}', 'x', false)`], {
        env: t.env,
      })
      expect(write.code).toBe(2)
      expect(write.stderr.split('\n')[0]).toContain('pg_file_write() may change the database')
      expect(existsSync(file('admin'))).toBe(false)
      const sleep = await runCli(['query', '--sql', 'select pg_sleep(40)'], { env: t.env, timeoutMs: 60_000 })
      expect(sleep.code).toBe(2)
      expect(sleep.stderr.split('\n')[0]).toBe(
        'Error: --sql was cancelled: canceling statement due to statement timeout.',
      )
    }, 70_000)
  } else {
    it('refuses pg_sleep, which no timeout cuts short in the embedded database', async () => {
      const r = await runCli(['query', '--sql', 'select pg_sleep(40)'], { env: t.env })
      expect(r.code).toBe(2)
      expect(r.stderr.split('\n')[0]).toBe(
        'Error: --sql runs one read-only query: pg_sleep() is not cut short by a timeout on the embedded database.',
      )
    })
  }
})
