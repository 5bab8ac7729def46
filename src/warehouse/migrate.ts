/**
 * The forward-only migration runner over `sql/migrations/NNNNN_name.sql`: each migration in its own
 * transaction under a transaction-level advisory lock, with the checksum of every applied file kept
 * in `schema_migrations`, so an edited applied migration is refused.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import type { Warehouse } from './connect.js'
import { sqlDir } from './paths.js'

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

function lockKey(schema: string): string {
  return `crypto-etl:migrate:${schema}`
}

/**
 * Brings the warehouse's schema up to date. Idempotent: a second call applies nothing.
 * @throws ConfigError (78) when an applied migration's file was edited since.
 */
export async function migrate(warehouse: Warehouse, migrations?: Migration[]): Promise<MigrateResult> {
  const started = performance.now()
  const all = migrations ?? (await loadMigrations())
  const { sql, schema } = warehouse
  const applied = new Map<number, string>()
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${lockKey(schema)}))`
    await tx.unsafe(`create schema if not exists "${schema}"`)
    await tx.unsafe(`create table if not exists "${schema}".schema_migrations (
      version int primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`)
    const rows = await tx.unsafe<{ version: number; checksum: string }[]>(
      `select version, checksum from "${schema}".schema_migrations`,
    )
    for (const row of rows) applied.set(row.version, row.checksum)
  })
  for (const m of all) {
    const checksum = applied.get(m.version)
    if (checksum !== undefined && checksum !== m.checksum) {
      throw new ConfigError(
        `Migration ${String(m.version).padStart(5, '0')}_${m.name} was changed after it was applied to schema ${schema}.`,
        'Restore the original file; add changes as a new migration.',
      )
    }
  }
  const done: MigrateResult['applied'] = []
  for (const m of all) {
    if (applied.has(m.version)) continue
    const ran = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext(${lockKey(schema)}))`
      // Another process may have applied it while this one waited for the lock.
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
    if (ran) done.push({ version: m.version, name: m.name })
  }
  return {
    schema,
    applied: done,
    alreadyApplied: all.length - done.length,
    ms: Math.round(performance.now() - started),
  }
}
