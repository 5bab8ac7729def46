/**
 * The forward-only migration runner over `sql/migrations/NNNNN_name.sql`: each migration in its own
 * transaction under a transaction-level advisory lock, with the checksum of every applied file kept
 * in `schema_migrations`, so an edited applied migration is refused. Nothing is created before the
 * catalogs say it is needed and allowed: Postgres checks the privilege to create (or a read-only server)
 * before it checks whether the object exists, so `create ... if not exists` fails for a role that only
 * uses a warehouse made by its owner.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../core/errors.js'
import { type Access, assertPrivileges, assertWritable, ident, inspectAccess } from './connection/access.js'
import type { Db, Sql, Warehouse } from './connection/connect.js'
import { sqlDir } from '../core/paths.js'

export interface Migration {
  version: number
  name: string
  checksum: string
  sql: string
}

export interface MigrateResult {
  schema: string
  applied: { version: number; name: string }[]
  alreadyApplied: number
  ms: number
}

const FILE_PATTERN = /^(\d{5})_([a-z0-9_]+)\.sql$/

/** Reads the migrations shipped with the package, ordered by version. */
export async function loadMigrations(dir = join(sqlDir(), 'migrations')): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => FILE_PATTERN.test(f)).sort()
  return Promise.all(
    files.map(async (file) => {
      const [, version, name] = FILE_PATTERN.exec(file)!
      const sql = await readFile(join(dir, file), 'utf8')
      return { version: Number(version), name: name!, checksum: createHash('sha256').update(sql).digest('hex'), sql }
    }),
  )
}

/**
 * Waits for the schema's migration lock, however long another migrate holds it: the lock_timeout pinned in
 * every transaction (which bounds waits on other sessions' row and table locks) is lifted for this wait only.
 */
async function migrationLock(tx: Db, schema: string): Promise<void> {
  const [pinned] = await tx<{ timeout: string }[]>`
    select current_setting('lock_timeout') as timeout, set_config('lock_timeout', '0', true) as lifted`
  await tx`select pg_advisory_xact_lock(hashtext(${lockKey(schema)}))`
  await tx`select set_config('lock_timeout', ${pinned!.timeout}, true)`
}

function lockKey(schema: string): string {
  return `crypto-etl:migrate:${schema}`
}

/** A migration as its file is named, e.g. `00001_warehouse`. */
export const migrationLabel = (m: { version: number; name: string }) =>
  `${String(m.version).padStart(5, '0')}_${m.name}`

/** The applied migrations (version to checksum) of a schema holding `schema_migrations`. */
async function appliedMigrations(sql: Sql, schema: string): Promise<Map<number, string>> {
  const rows = await sql<{ version: number; checksum: string }[]>`
    select version, checksum from ${sql(schema)}.schema_migrations`
  return new Map(rows.map((r) => [r.version, r.checksum]))
}

/** Exit 78 when the schema holds migrations this version does not know: a newer crypto-etl made them. */
function assertNotNewer(applied: Map<number, string>, all: Migration[], schema: string): void {
  const known = new Set(all.map((m) => m.version))
  const unknown = [...applied.keys()].filter((v) => !known.has(v)).sort((a, b) => a - b)
  if (unknown.length === 0) return
  throw new ConfigError(
    `Schema ${schema} was migrated by a newer crypto-etl (migration ${String(unknown.at(-1)).padStart(5, '0')} is unknown to this version).`,
    'Upgrade crypto-etl (npm install -g crypto-etl@latest) on this machine.',
  )
}

/** Exit 78 when the role cannot apply `pending`, naming what to grant or who should migrate. */
function assertMayMigrate(access: Access, pending: Migration[], schema: string): void {
  const { role } = access
  const needs = `Schema ${schema} needs migration ${pending.map(migrationLabel).join(', ')}`
  if (!access.schemaExists && !access.createOnDatabase) {
    throw new ConfigError(
      `Role ${role} may not create schema ${schema} in database ${access.database}.`,
      `As an administrator: CREATE SCHEMA ${ident(schema)} AUTHORIZATION ${ident(role)}; (or GRANT CREATE ON DATABASE ${ident(access.database)} TO ${ident(role)};)`,
    )
  }
  if (access.schemaExists && !access.hasMigrationsTable && !(access.usageOnSchema && access.createOnSchema)) {
    throw new ConfigError(
      `Role ${role} may not create tables in schema ${schema}.`,
      `As its owner (${access.schemaOwner}): GRANT USAGE, CREATE ON SCHEMA ${ident(schema)} TO ${ident(role)}; or migrate as ${access.schemaOwner}.`,
    )
  }
  if (access.hasMigrationsTable && !(access.usageOnSchema && access.createOnSchema)) {
    throw new ConfigError(
      `${needs}, and role ${role} may not change it.`,
      `Run crypto-etl migrate as the role that migrated it (the schema's owner is ${access.schemaOwner}).`,
    )
  }
}

/**
 * Brings the warehouse's schema up to date. Idempotent: a second call applies nothing, and then nothing
 * is created or locked, so a role with only the privileges of docs/privileges.md passes.
 * @throws ConfigError (78) on a read-only server, when the role may not create what is pending, when an
 * applied migration's file was edited since, or when a newer crypto-etl migrated the schema.
 */
/** The tables, indexes and functions a migration creates, by name (`create table assets`, ...). */
function createdNames(migration: Migration): string[] {
  const pattern =
    /\bcreate\s+(?:unique\s+)?(?:table|index|function|view|sequence)\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_]*)/gi
  return [...migration.sql.matchAll(pattern)].map((m) => m[1]!.toLowerCase())
}

/**
 * Refuses (78) a schema that already holds a table, index or function with a name a pending migration
 * creates, before anything is written: `--schema public` with an application's own `assets` table would
 * otherwise fail half-way, or leave an empty schema_migrations behind.
 */
async function assertNamesFree(sql: Sql, schema: string, pending: readonly Migration[]): Promise<void> {
  const names = [...new Set(pending.flatMap(createdNames))]
  if (names.length === 0) return
  const [taken] = await sql<{ name: string; kind: string }[]>`
    select c.relname as name, case when c.relkind in ('i', 'I') then 'an index' else 'a table' end as kind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = any(${sql.array(names)}::text[])
    union all
    select p.proname, 'a function' from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = ${schema} and p.proname = any(${sql.array(names)}::text[])
    order by 1 limit 1`
  if (!taken) return
  throw new ConfigError(
    `Schema ${schema} already holds ${taken.kind} named ${taken.name} that crypto-etl did not create; nothing was changed.`,
    'Give crypto-etl a schema of its own with --schema / CRYPTO_ETL_SCHEMA (the default is coincap).',
  )
}

/**
 * Applies the migrations not yet applied to the warehouse's schema, each in its own transaction under the
 * migration lock; checks first that applied ones are unchanged and that this role may create what they need.
 */
export async function migrate(warehouse: Warehouse, migrations?: Migration[]): Promise<MigrateResult> {
  const started = performance.now()
  const all = migrations ?? (await loadMigrations())
  const { sql, schema } = warehouse
  const access = await inspectAccess(sql, schema)
  assertWritable(access, warehouse.location)
  if (access.hasMigrationsTable) assertPrivileges(access, 'read', schema)
  const applied = access.hasMigrationsTable ? await appliedMigrations(sql, schema) : new Map<number, string>()
  assertNotNewer(applied, all, schema)
  assertUnchanged(applied, all, schema)
  const pending = all.filter((m) => !applied.has(m.version))
  const done: MigrateResult['applied'] = []
  if (pending.length > 0) {
    assertMayMigrate(access, pending, schema)
    await assertNamesFree(sql, schema, pending)
    if (!access.hasMigrationsTable) await createMigrationsTable(sql, schema)
    for (const m of pending) if (await applyMigration(sql, schema, m, access)) done.push(m)
  }
  return {
    schema,
    applied: done.map(({ version, name }) => ({ version, name })),
    alreadyApplied: all.length - done.length,
    ms: Math.round(performance.now() - started),
  }
}

function assertUnchanged(applied: Map<number, string>, all: Migration[], schema: string): void {
  for (const m of all) {
    const checksum = applied.get(m.version)
    if (checksum !== undefined && checksum !== m.checksum) {
      throw new ConfigError(
        `Migration ${migrationLabel(m)} was changed after it was applied to schema ${schema}.`,
        'Restore the original file; add changes as a new migration.',
      )
    }
  }
}

async function createMigrationsTable(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await migrationLock(tx, schema)
    // Read from the catalogs, not by IF NOT EXISTS: that consults caches this transaction filled before it
    // waited for the lock, so a schema another process made meanwhile failed with 23505.
    const [made] = await tx<{ schema: boolean }[]>`
      select exists (select 1 from pg_namespace where nspname = ${schema}) as schema`
    if (!made?.schema) await tx.unsafe(`create schema "${schema}"`)
    await tx.unsafe(`create table if not exists "${schema}".schema_migrations (
      version int primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`)
  })
}

/** Applies one migration and records it; false when another process applied it while this one waited. */
async function applyMigration(sql: Sql, schema: string, m: Migration, access: Access): Promise<boolean> {
  return sql
    .begin(async (tx) => {
      await migrationLock(tx, schema)
      const [row] = await tx.unsafe(`select 1 from "${schema}".schema_migrations where version = $1`, [m.version])
      if (row) return false
      await tx.unsafe(`set local search_path to "${schema}", public`)
      await tx.unsafe(m.sql)
      await tx.unsafe(`insert into "${schema}".schema_migrations (version, name, checksum) values ($1, $2, $3)`, [
        m.version,
        m.name,
        m.checksum,
      ])
      return true
    })
    .catch((error: unknown) => {
      // A role that may create in the schema but does not own its tables (42501: must be owner).
      if ((error as { code?: string }).code !== '42501') throw error
      throw new ConfigError(
        `Migration ${migrationLabel(m)} failed for role ${access.role}: ${(error as Error).message}.`,
        `Run crypto-etl migrate as the role that owns the warehouse's tables (the schema's owner is ${access.schemaOwner}).`,
        { cause: error },
      )
    })
}

/** What a reading command learns about the warehouse before it reads. */
export interface ReadableWarehouse {
  /** Migrations of this version not yet applied: reports that need them fail until `crypto-etl migrate`. */
  behind: { version: number; name: string }[]
}

/**
 * Checks, without changing anything, that the schema holds a crypto-etl warehouse this version can read
 * and that the role may read it. Works on a hot standby and for a role with SELECT only.
 * @throws ConfigError (78) when there is no warehouse (make one with `crypto-etl migrate`), when a newer
 * crypto-etl migrated it, or when the role lacks USAGE or SELECT (naming the GRANT).
 */
export async function checkReadable(warehouse: Warehouse, migrations?: Migration[]): Promise<ReadableWarehouse> {
  const all = migrations ?? (await loadMigrations())
  const { sql, schema } = warehouse
  const access = await inspectAccess(sql, schema)
  const missing = () => noWarehouseError(schema, warehouse.location)
  if (!access.hasMigrationsTable) throw missing()
  assertPrivileges(access, 'read', schema)
  const applied = await appliedMigrations(sql, schema)
  if (applied.size === 0) throw missing()
  assertNotNewer(applied, all, schema)
  return { behind: all.filter((m) => !applied.has(m.version)).map(({ version, name }) => ({ version, name })) }
}

/** Exit 78: the target holds no crypto-etl warehouse; one line naming it and how to make one. */
export function noWarehouseError(schema: string, location: string): ConfigError {
  return new ConfigError(
    `No crypto-etl warehouse in schema ${schema} on ${location}; create one with: crypto-etl migrate`,
  )
}
