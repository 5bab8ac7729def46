/**
 * Opens a real warehouse for a test: the Postgres server (each test file in its own schema, dropped
 * afterwards) or a private copy of the template embedded database.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { resolveSettings, type Settings } from '../../src/config/settings.js'
import { connectWarehouse, type Warehouse } from '../../src/warehouse/connection/connect.js'
import { TEST_DATABASE_URL } from './env.js'
import { stopResident } from './resident.js'

export const TARGETS = ['server', 'embedded'] as const

/** The tables a migrated warehouse has (partitions aside), by name. */
export const WAREHOUSE_TABLES = [
  'asset_history',
  'asset_snapshots',
  'assets',
  'backfill_windows',
  'etl_runs',
  'exchange_snapshots',
  'exchanges',
  'market_snapshots',
  'rate_snapshots',
  'rejected_records',
  'run_leases',
  'schema_migrations',
]
export type Target = (typeof TARGETS)[number]

export interface TestWarehouse {
  warehouse: Warehouse
  settings: Settings
  /** The environment that points a spawned CLI at the same database and schema. */
  env: Record<string, string>
  cleanup(): Promise<void>
}

/** A schema name unique to this test run, e.g. `t_migrate_k3x9`. */
export function uniqueSchema(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${Math.random().toString(36).slice(2, 8)}`
}

/** A fresh embedded data directory copied from the template made in global setup. */
export async function copyEmbeddedTemplate(): Promise<string> {
  const template = process.env.CRYPTO_ETL_TEST_TEMPLATE
  if (!template) throw new Error('global setup did not prepare the embedded template')
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-test-'))
  await cp(join(template, 'pgdata'), join(dir, 'pgdata'), { recursive: true })
  return dir
}

/** Removes an embedded data directory, its resident process stopped first (a clean stop). */
export async function removeDataDir(dir: string): Promise<void> {
  await stopResident(dir)
  await rm(dir, { recursive: true, force: true })
}

/** Environment for a target, without touching the database. */
export async function targetEnv(
  target: Target,
  schema: string,
): Promise<{ env: Record<string, string>; dir?: string }> {
  if (target === 'server') return { env: { DATABASE_URL: TEST_DATABASE_URL, CRYPTO_ETL_SCHEMA: schema } }
  const dir = await copyEmbeddedTemplate()
  return { env: { CRYPTO_ETL_DATA_DIR: dir, CRYPTO_ETL_SCHEMA: schema }, dir }
}

/** Connects to `target` in a fresh schema; `cleanup()` closes it and drops what the test made. */
export async function openTestWarehouse(target: Target, label: string): Promise<TestWarehouse> {
  const schema = uniqueSchema(label)
  const { env, dir } = await targetEnv(target, schema)
  const settings = resolveSettings({}, env)
  const warehouse = await connectWarehouse(settings)
  return {
    warehouse,
    settings,
    env,
    async cleanup() {
      if (target === 'server') await warehouse.sql.unsafe(`drop schema if exists "${schema}" cascade`)
      await warehouse.close()
      if (dir) await removeDataDir(dir)
    },
  }
}
