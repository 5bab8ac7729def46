/**
 * `query` and `status` never change the database: no warehouse is exit 78 (nothing created), a warehouse
 * behind this version is read with a warning, one ahead of it is exit 78 "upgrade", and a read-only role
 * reads while every writing command is refused with 78 before it asks CoinCap anything.
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadMigrations, migrate, migrationLabel } from '../../src/warehouse/migrate.js'
import { runCli } from '../helpers/cli.js'
import { createRoles, type TestRoles } from '../helpers/roles.js'
import { Scratch } from '../helpers/scratch.js'
import { seedWarehouse } from '../helpers/seed.js'
import { useScratchCoincap } from '../helpers/use-coincap.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'
import { WRITING_COMMANDS, withLanding } from '../helpers/writing-commands.js'

const scratch = new Scratch()
const admin = scratch.admin
const api = useScratchCoincap(scratch)

const stderrLines = (stderr: string) => stderr.trimEnd().split('\n')

/** Where the target's messages say the data is. */
const locationOf = (target: Target, env: Record<string, string>) =>
  target === 'server' ? '127.0.0.1:5432/test' : `embedded database in ${env.CRYPTO_ETL_DATA_DIR}`

const readWarehouse = (target: Target, label: string) =>
  scratch.warehouse(target, label, { COINCAP_API_URL: api.server.url, COINCAP_API_KEY: 'e2e-read-key-3318' })

/** A seeded warehouse changed by the SQL `change` (made older or newer), closed so the CLI may open it. */
async function warehouseAt(target: Target, label: string, change: string) {
  const t = await readWarehouse(target, label)
  await t.use(async (warehouse) => {
    await seedWarehouse(warehouse)
    await warehouse.sql.unsafe(change)
  })
  return t
}

/** A warehouse as the first release left it (only 00001 applied) with one bitcoin snapshot; closed. */
async function firstReleaseWarehouse(target: Target) {
  const t = await readWarehouse(target, 'read_first_release')
  await t.use(async (warehouse) => {
    const { sql, schema } = warehouse
    await migrate(warehouse, (await loadMigrations()).slice(0, 1))
    const at = new Date('2025-11-22T12:00:00Z')
    await sql`insert into ${sql(schema)}.assets values ('bitcoin', 'BTC', 'Bitcoin', null, '{}', ${at}, ${at})`
    await sql`select ${sql(schema)}.ensure_partitions(${schema}, 'asset_snapshots', ${at}, ${at})`
    await sql`insert into ${sql(schema)}.asset_snapshots (asset_id, observed_at, rank, price_usd) values ('bitcoin', ${at}, 1, 80800)`
    await sql`insert into ${sql(schema)}.etl_runs (command, status, datasets) values ('run', 'ok', '{assets}')`
  })
  return t
}

describe.each(TARGETS)('read commands on the %s database', (target) => {
  it.each([['query'], ['status']])(
    '%s without a warehouse exits 78 saying how to make one, creating nothing',
    async (command) => {
      const { schema, env, query } = await scratch.warehouse(target, 'read_none')
      const r = await runCli([command], { env })
      expect(r.code).toBe(78)
      expect(stderrLines(r.stderr)).toEqual([
        `Error: No crypto-etl warehouse in schema ${schema} on ${locationOf(target, env)}; create one with: crypto-etl migrate`,
      ])
      const [made] = await query<{ n: number }>(
        `select count(*)::int as n from pg_namespace where nspname = '${schema}'`,
      )
      expect(made!.n).toBe(0)
    },
  )

  if (target === 'embedded') {
    it('query without an embedded database exits 78 and does not create one', async () => {
      const dir = join(tmpdir(), `crypto-etl-none-${Math.random().toString(36).slice(2, 8)}`)
      const r = await runCli(['query'], { env: { CRYPTO_ETL_DATA_DIR: dir } })
      expect(r.code).toBe(78)
      expect(stderrLines(r.stderr)).toEqual([
        `Error: No crypto-etl warehouse in schema coincap on embedded database in ${dir}; create one with: crypto-etl migrate`,
      ])
      expect(existsSync(dir)).toBe(false)
    })
  }

  describe('a warehouse of the first release (only 00001 applied)', () => {
    let t: Awaited<ReturnType<typeof firstReleaseWarehouse>>
    let missing: string
    let warning: string
    beforeAll(async () => {
      missing = (await loadMigrations())
        .slice(1)
        .map((m) => migrationLabel(m))
        .join(', ')
      t = await firstReleaseWarehouse(target)
      warning = `warn: schema ${t.schema} lacks migration ${missing} of this crypto-etl: reading what it can; to upgrade it: crypto-etl migrate`
    })

    it('query reads what it can and says to migrate; nothing is migrated', async () => {
      const query = await runCli(['query', '--format', 'csv'], { env: t.env })
      expect(query.code).toBe(0)
      expect(stderrLines(query.stderr)).toEqual([warning, expect.stringMatching(`^Warehouse: .+ schema ${t.schema}$`)])
      expect(query.stdout.split('\n')[1]).toMatch(/^1,bitcoin,BTC,Bitcoin,80800,/)
      expect(await t.query<{ version: number }>('select version from schema_migrations')).toEqual([{ version: 1 }])
    })

    it.each([{ args: ['query', 'runs'] }, { args: ['status'] }])(
      '$args reads what a later migration adds: exit 78 saying to migrate',
      async ({ args }) => {
        const r = await runCli(args, { env: t.env })
        expect(r.code).toBe(78)
        const [warned, error, hint] = stderrLines(r.stderr)
        expect(warned).toBe(warning)
        expect(error).toMatch(
          new RegExp(
            `^Error: This report failed on schema ${t.schema}, which lacks migration ${missing}: column .+ does not exist\\.$`,
          ),
        )
        expect(hint).toBe('Upgrade the warehouse: crypto-etl migrate (as the role that owns it).')
      },
    )
  })

  describe('a warehouse of a newer crypto-etl', () => {
    let t: Awaited<ReturnType<typeof warehouseAt>>
    beforeAll(async () => {
      const future = `insert into schema_migrations (version, name, checksum) values (99999, 'from_the_future', 'x')`
      t = await warehouseAt(target, 'read_newer', future)
    })

    it.each([['query'], ['status'], ['run']])('%s exits 78 saying to upgrade', async (command) => {
      const r = await runCli([command], { env: t.env })
      expect(r.code).toBe(78)
      expect(stderrLines(r.stderr)).toEqual([
        `Error: Schema ${t.schema} was migrated by a newer crypto-etl (migration 99999 is unknown to this version).`,
        'Upgrade crypto-etl (npm install -g crypto-etl@latest) on this machine.',
      ])
      expect(api.server.requests).toEqual([])
    })
  })
})

describe('a role whose transactions are read-only (default_transaction_read_only)', () => {
  let roles: TestRoles<'reader'>
  let env: Record<string, string>
  let schema: string
  let landing: string

  beforeAll(async () => {
    const t = await scratch.warehouse('server', 'read_only_role')
    await t.use((warehouse) => seedWarehouse(warehouse, new Date()))
    schema = t.schema
    roles = await createRoles(admin, ['reader'])
    scratch.onCleanup(() => roles.drop())
    const { reader } = roles.name
    await admin.unsafe(`
      alter role "${reader}" set default_transaction_read_only = on;
      grant usage on schema "${schema}" to "${reader}";
      grant select on all tables in schema "${schema}" to "${reader}";`)
    env = {
      CRYPTO_ETL_SCHEMA: schema,
      DATABASE_URL: roles.url('reader'),
      COINCAP_API_URL: api.server.url,
      COINCAP_API_KEY: 'k',
    }
    const folder = await scratch.folder('read-only')
    landing = join(folder, 'empty.ndjson')
    await writeFile(landing, '')
  })

  it('query and status read the data and exit 0', async () => {
    const query = await runCli(['query', '--format', 'csv', '--limit', '2'], { env })
    const named = new RegExp(`^Warehouse: postgres://\\S+ schema ${schema}\n$`)
    expect(query.stderr).toMatch(named)
    expect(query.code).toBe(0)
    const topTwo = query.stdout.split('\n').slice(1, 3)
    expect(topTwo.map((line) => line.split(',')[1])).toEqual(['bitcoin', 'ethereum'])
    const status = await runCli(['status', '--max-age', '15m'], { env })
    expect(status.stderr).toMatch(named)
    expect(status.code).toBe(0)
  })

  it.each(WRITING_COMMANDS)(
    '%s exits 78 saying the database is read-only for the role, before any request',
    async (_, args) => {
      const r = await runCli(withLanding(args, landing), { env })
      expect(r.code).toBe(78)
      const { reader } = roles.name
      expect(stderrLines(r.stderr)).toEqual([
        `Error: The database at 127.0.0.1:5432/test is read-only for role ${reader} (default_transaction_read_only is on).`,
        `Write as a role that may, or: ALTER ROLE ${reader} SET default_transaction_read_only = off;`,
      ])
      expect(api.server.requests).toEqual([])
      expect(existsSync(landing)).toBe(true)
    },
  )

  it('nothing was written by any of them', async () => {
    const runs = await admin.unsafe(`select count(*)::int as n from "${schema}".etl_runs`)
    expect(runs[0]!.n).toBe(4)
  })
})
