/**
 * Flag values that overflow: a duration that reaches before the year 1, a count beyond any integer the
 * database takes. Each is a usage error (2) found while parsing, before any request or write; once, they
 * reached Postgres and came back as exit 74 ("time zone displacement out of range"). And schemas that are
 * not crypto-etl's to use: a system schema, or one holding another application's table of one of its names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { runCli } from '../../helpers/cli.js'
import {
  adminSql,
  cleanupDrills,
  DRILL_NOW,
  type DrillTarget,
  expectCleanFailure,
  prepareTarget,
} from '../../helpers/drills.js'
import { schemaExists } from '../../helpers/inspect.js'

let server: FixtureServer
/** A schema that must never come to exist: nothing is written before the flags are parsed. */
let untouched: DrillTarget

beforeAll(async () => {
  server = await startFixtureServer({ now: () => DRILL_NOW })
  untouched = await prepareTarget('server', 'overflow', server.url)
})
afterAll(async () => {
  await server.close()
  await cleanupDrills()
})

const OUT_OF_RANGE = 'is out of range: give a time between the years 1 and 9999.'
const tooLarge = (flag: string, value: string) =>
  `Error: --${flag}: Expected an integer less than or equal to 1000000000 but received: ${value}`

const OVERFLOWS: [string[], string][] = [
  [['query', 'history', '--asset', 'bitcoin', '--since', '100000000d'], `Error: --since: '100000000d' ${OUT_OF_RANGE}`],
  [['query', 'movers', '--since', '100000000d'], `Error: --since: '100000000d' ${OUT_OF_RANGE}`],
  [['query', 'runs', '--since', '3000000d'], `Error: --since: '3000000d' ${OUT_OF_RANGE}`],
  [['query', 'history', '--asset', 'bitcoin', '--until', '0000-12-31'], `Error: --until: '0000-12-31' ${OUT_OF_RANGE}`],
  [
    ['query', 'gaps', '--asset', 'bitcoin', '--interval', 'd1', '--since', '100000000d'],
    `Error: --since: '100000000d' ${OUT_OF_RANGE}`,
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '1000000d'],
    `Error: --from: '1000000d' ${OUT_OF_RANGE}`,
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '30d', '--to', '1000000d'],
    `Error: --to: '1000000d' ${OUT_OF_RANGE}`,
  ],
  [['prune', '--older-than', '100000000d'], `Error: --older-than: '100000000d' ${OUT_OF_RANGE}`],
  [['prune', '--newer-than', '800000d'], `Error: --newer-than: '800000d' ${OUT_OF_RANGE}`],
  [
    ['prune', '--older-than', '99999999999d'],
    "Error: --older-than: '99999999999d' is neither a date (2025-01-01, 2025-01-01T12:00Z) nor a duration (30d).",
  ],
  [['query', '--limit', '9999999999999999999999'], tooLarge('limit', '9999999999999999999999')],
  [['query', 'runs', '--limit', '99999999999'], tooLarge('limit', '99999999999')],
  [['status', '--runs', '3000000000'], tooLarge('runs', '3000000000')],
  [['run', '--datasets', 'markets', '--markets-limit', '99999999999'], tooLarge('markets-limit', '99999999999')],
  [['schedule', '--every', '5m', '--budget', '1e30'], 'Error: --budget: Expected an integer but received: 1e30'],
]

describe.concurrent('flag values that overflow', () => {
  it.each(OVERFLOWS)('%j exits 2 with one line, before any request or write', async (args, line) => {
    const r = await runCli(args, { env: untouched.env })
    expect(expectCleanFailure(r, 2)[0]).toBe(line)
    expect(server.requests).toEqual([])
  })
})

describe('after the overflowing flags', () => {
  it('nothing was written: the schema they pointed at does not exist', async () => {
    expect(await schemaExists(adminSql(), untouched.schema)).toBe(false)
  })
})

describe('a schema crypto-etl must not use', () => {
  it.each(['pg_catalog', 'pg_temp', 'pg_toast', 'information_schema', 'pg_anything'])(
    '--schema %s exits 78 before connecting',
    async (schema) => {
      const r = await runCli(['migrate', '--schema', schema], { env: untouched.env })
      expect(expectCleanFailure(r, 78)).toEqual([
        'Error: Invalid setting --schema / CRYPTO_ETL_SCHEMA: names a system schema; use e.g. coincap.',
      ])
    },
  )

  it.each(['server', 'embedded'] as const)(
    'on the %s, a schema holding an unrelated table named assets: 78 naming it, nothing written',
    async (target) => {
      const t = await prepareTarget(target, 'clash')
      const create = [`create schema "${t.schema}"`, `create table "${t.schema}".assets (id int, note text)`]
      if (target === 'server') for (const statement of create) await adminSql().unsafe(statement)
      else
        await t.use(async (warehouse) => {
          for (const statement of create) await warehouse.sql.unsafe(statement)
        })
      for (const args of [['migrate'], ['load', '-']]) {
        const r = await runCli(args, { env: t.env, input: '' })
        expect(expectCleanFailure(r, 78)).toEqual([
          `Error: Schema ${t.schema} already holds a table named assets that crypto-etl did not create; nothing was changed.`,
          'Give crypto-etl a schema of its own with --schema / CRYPTO_ETL_SCHEMA (the default is coincap).',
        ])
      }
      const left = await t.query<{ name: string }>(
        `select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = '${t.schema}' order by 1`,
      )
      expect(left.map((r) => r.name)).toEqual(['assets'])
    },
  )
})
