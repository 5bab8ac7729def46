/**
 * The managed set-up with real roles on the test server: an owner migrates a schema made for it (no CREATE
 * on the database), an app role with the documented grants runs every writing command (partitions for new
 * days and months included), a reporting role reads, and roles missing a privilege get exit 78 naming it
 * and the GRANT that fixes it, before any CoinCap request.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadMigrations, migrationLabel } from '../../src/warehouse/migrate.js'
import { runCli, ONLY_WAREHOUSE_LINE } from '../helpers/cli.js'
import { type HistoryServer, startHistoryServer } from '../helpers/history-server.js'
import { schemaExists } from '../helpers/inspect.js'
import { createRoles, type TestRoles } from '../helpers/roles.js'
import { Scratch } from '../helpers/scratch.js'
import { uniqueSchema } from '../helpers/warehouse.js'

const FIRST_DAY = Date.parse('2026-01-14T12:00:00.000Z')
const SECOND_DAY = Date.parse('2026-01-15T12:00:00.000Z')
const API_KEY = 'e2e-privileges-key-5521'
const KINDS = ['owner', 'app', 'reader', 'dml', 'none'] as const
type Kind = (typeof KINDS)[number]

const scratch = new Scratch()
const admin = scratch.admin
const schema = scratch.schema('privileges')
let roles: TestRoles<Kind>
let server: HistoryServer
let clock = FIRST_DAY
let folder: string

/** The environment of a CLI connecting as the role of `kind` to the test's schema. */
const as = (kind: Kind) => ({
  DATABASE_URL: roles.url(kind),
  CRYPTO_ETL_SCHEMA: schema,
  COINCAP_API_URL: server.url,
  COINCAP_API_KEY: API_KEY,
  CRYPTO_ETL_API_RETRIES: '0',
})
const count = async (table: string) =>
  Number((await admin.unsafe(`select count(*)::int as n from "${schema}".${table}`))[0]!.n)
const stderrLines = (stderr: string) => stderr.trimEnd().split('\n')

beforeAll(async () => {
  roles = await createRoles(admin, KINDS)
  server = await startHistoryServer({ now: () => clock })
  folder = await scratch.folder('privileges')
  // The PG 15 way for a role that may not create schemas: an administrator makes one for it.
  await admin.unsafe(`create schema "${schema}" authorization "${roles.name.owner}"`)
})

afterAll(async () => {
  await admin.unsafe(`drop schema if exists "${schema}" cascade`)
  await roles?.drop()
  await server?.close()
  await scratch.cleanup()
})

describe('least-privilege roles on the server', () => {
  it('the owner of a pre-made schema, without CREATE on the database, migrates it', async () => {
    const r = await runCli(['migrate'], { env: as('owner') })
    expect(r.stderr).toMatch(ONLY_WAREHOUSE_LINE)
    expect(r.code).toBe(0)
    const shipped = (await loadMigrations()).map((m) => `applied ${migrationLabel(m)}`)
    expect(r.stdout.split('\n').slice(0, shipped.length)).toEqual(shipped)
    const { app, reader, dml } = roles.name
    // The grants of docs/privileges.md (and docs/warehouse.md, Privileges).
    await admin.unsafe(`
      grant usage on schema "${schema}" to "${app}", "${reader}", "${dml}";
      grant select, insert, update, delete on all tables in schema "${schema}" to "${app}", "${dml}";
      grant execute on all functions in schema "${schema}" to "${app}";
      grant select on all tables in schema "${schema}" to "${reader}";`)
  })

  it('the app role runs run, then load of another day: partitions of each new day are made as their owner', async () => {
    const run = await runCli(['run', '--datasets', 'assets,rates', '--json'], { env: as('app') })
    expect(run.code, run.stderr).toBe(0)
    expect(JSON.parse(run.stdout).status).toBe('ok')
    clock = SECOND_DAY
    const file = join(folder, 'second-day.ndjson')
    const extract = await runCli(['extract', '--datasets', 'assets,rates', '--output', file], { env: as('app') })
    expect(extract.code, extract.stderr).toBe(0)
    const load = await runCli(['load', file, '--json'], { env: as('app') })
    expect(load.stderr).toBe('')
    expect(load.code).toBe(0)
    expect(await count('asset_snapshots')).toBe(200)
    expect(await count('rate_snapshots')).toBe(32)
    const parts = await admin<{ name: string; owner: string }[]>`
      select tablename as name, tableowner as owner from pg_tables
      where schemaname = ${schema} and tablename like 'asset_snapshots_p%' order by 1`
    expect(parts).toEqual([
      { name: 'asset_snapshots_p20260114', owner: roles.name.owner },
      { name: 'asset_snapshots_p20260115', owner: roles.name.owner },
    ])
  })

  it('the app role backfills history into new month partitions', async () => {
    const args = ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '2025-11-01', '--to', '2026-01-01']
    const r = await runCli([...args, '--json'], { env: as('app') })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).rows).toBe(61)
    const months = await admin<{ name: string }[]>`
      select tablename as name from pg_tables where schemaname = ${schema} and tablename like 'asset_history_p%' order by 1`
    expect(months.map((m) => m.name)).toEqual(['asset_history_p202511', 'asset_history_p202512'])
  })

  it('the reporting role reads with query and status (partitions carry their parent grants)', async () => {
    const query = await runCli(['query', '--format', 'json', '--limit', '2'], { env: as('reader') })
    expect(query.stderr).toMatch(ONLY_WAREHOUSE_LINE)
    expect(query.code).toBe(0)
    expect(JSON.parse(query.stdout).map((row: { asset_id: string }) => row.asset_id)).toEqual(['bitcoin', 'ethereum'])
    const status = await runCli(['status', '--json'], { env: as('reader') })
    expect(status.stderr).toBe('')
    expect(status.code).toBe(0)
    const newest = Object.fromEntries(
      JSON.parse(status.stdout).datasets.map((d: { dataset: string; newest: string }) => [d.dataset, d.newest]),
    )
    expect(newest).toMatchObject({
      assets: new Date(SECOND_DAY).toISOString(),
      history: '2025-12-31T00:00:00.000Z',
    })
  })

  it('the app role prunes: a whole day dropped, then one run rolled back inside a partition', async () => {
    const drop = await runCli(['prune', '--older-than', '2026-01-15', '--datasets', 'assets,rates', '--json'], {
      env: as('app'),
    })
    expect(drop.code, drop.stderr).toBe(0)
    expect(JSON.parse(drop.stdout)).toMatchObject({ rows: 116, partitionsDropped: 2 })
    const loadRun = (
      await admin.unsafe(`select max(run_id)::int as id from "${schema}".etl_runs where command = 'load'`)
    )[0]!.id
    const rollback = await runCli(['prune', '--run', String(loadRun), '--json'], { env: as('app') })
    expect(rollback.code, rollback.stderr).toBe(0)
    expect(JSON.parse(rollback.stdout)).toMatchObject({ rows: 116, partitionsDropped: 0 })
    expect([await count('asset_snapshots'), await count('rate_snapshots'), await count('asset_history')]).toEqual([
      0, 0, 61,
    ])
  })

  it.each([
    ['run', ['run']],
    ['load', ['load', 'LANDING']],
    ['backfill', ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '2025-10-01', '--to', '2025-11-01']],
    ['prune', ['prune', '--older-than', '30d']],
  ])('%s as the reporting role exits 78 naming what it lacks and the GRANT, before any request', async (_, args) => {
    const requests = server.requests.length
    const argv = args.map((a) => (a === 'LANDING' ? join(folder, 'second-day.ndjson') : a))
    const r = await runCli(argv, { env: as('reader') })
    expect(r.code).toBe(78)
    const { reader, owner } = roles.name
    expect(stderrLines(r.stderr)).toEqual([
      `Error: Role ${reader} may not write the warehouse in schema ${schema}: it lacks INSERT on asset_history, asset_snapshots, assets and 8 more; UPDATE on asset_history, asset_snapshots, assets and 8 more; DELETE on asset_history, asset_snapshots, assets and 8 more; EXECUTE on drop_partition, ensure_partitions.`,
      `As the schema's owner (${owner}): GRANT USAGE ON SCHEMA ${schema} TO ${reader}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${reader}; GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} TO ${reader};`,
    ])
    expect(server.requests.length).toBe(requests)
  })

  it.each([['run'], ['prune']])(
    '%s as a role with DML but no EXECUTE exits 78 naming the two functions',
    async (command) => {
      const args = command === 'run' ? ['run'] : ['prune', '--older-than', '30d']
      const r = await runCli(args, { env: as('dml') })
      expect(r.code).toBe(78)
      const [line, hint] = stderrLines(r.stderr)
      expect(line).toBe(
        `Error: Role ${roles.name.dml} may not write the warehouse in schema ${schema}: it lacks EXECUTE on drop_partition, ensure_partitions.`,
      )
      expect(hint).toContain(`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${schema} TO ${roles.name.dml};`)
    },
  )

  it.each([['query'], ['status']])(
    '%s as a role without USAGE on the schema exits 78 with the GRANT',
    async (command) => {
      const r = await runCli([command], { env: as('none') })
      expect(r.code).toBe(78)
      const { none, owner } = roles.name
      expect(stderrLines(r.stderr)).toEqual([
        `Error: Role ${none} may not read the warehouse in schema ${schema}: it lacks USAGE on schema ${schema}.`,
        `As the schema's owner (${owner}): GRANT USAGE ON SCHEMA ${schema} TO ${none}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${none};`,
      ])
    },
  )

  it('migrate of a new schema by a role that may not create one exits 78 with both ways to allow it', async () => {
    const other = uniqueSchema('privileges_new')
    const r = await runCli(['migrate'], { env: { ...as('none'), CRYPTO_ETL_SCHEMA: other } })
    expect(r.code).toBe(78)
    const { none } = roles.name
    expect(stderrLines(r.stderr)).toEqual([
      `Error: Role ${none} may not create schema ${other} in database test.`,
      `As an administrator: CREATE SCHEMA ${other} AUTHORIZATION ${none}; (or GRANT CREATE ON DATABASE test TO ${none};)`,
    ])
    expect(await schemaExists(admin, other)).toBe(false)
  })

  it('a writing command of the app role on a warehouse behind this version says to migrate as the owner', async () => {
    const table = `"${schema}".schema_migrations`
    const [functions] = await admin.unsafe<{ version: number; name: string; checksum: string }[]>(
      `delete from ${table} where name = 'partition_functions' returning version, name, checksum`,
    )
    try {
      const r = await runCli(['run'], { env: as('app') })
      expect(r.code).toBe(78)
      expect(stderrLines(r.stderr)).toEqual([
        `Error: Schema ${schema} needs migration ${migrationLabel(functions!)}, and role ${roles.name.app} may not change it.`,
        `Run crypto-etl migrate as the role that migrated it (the schema's owner is ${roles.name.owner}).`,
      ])
    } finally {
      await admin.unsafe(`insert into ${table} (version, name, checksum) values ($1, $2, $3)`, [
        functions!.version,
        functions!.name,
        functions!.checksum,
      ])
    }
  })
})
