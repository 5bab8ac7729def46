/**
 * Reads a test's warehouse from outside the CLI, between CLI runs: a server schema through an admin
 * connection, or the embedded data directory opened just for the query (one process at a time may hold it).
 */
import postgres from 'postgres'
import { resolveSettings } from '../../src/config/settings.js'
import { connectWarehouse, type Warehouse } from '../../src/warehouse/connection/connect.js'
import { TEST_DATABASE_URL } from './env.js'
import type { Target } from './warehouse.js'

/** The admin connection to the test server (two sessions: one may hold a lock while the other looks). */
export function adminConnection(): postgres.Sql {
  return postgres(TEST_DATABASE_URL, { max: 2, onnotice: () => {} })
}

/** A function running one SQL text in the target's schema and returning its rows. */
export function warehouseQuery(
  target: Target,
  admin: postgres.Sql,
  schema: string,
  env: Record<string, string>,
): <T>(text: string) => Promise<T[]> {
  return async <T>(text: string): Promise<T[]> => {
    if (target === 'server') {
      return (await admin.begin(async (tx) => {
        await tx.unsafe(`set local search_path to "${schema}"`)
        return tx.unsafe(text)
      })) as unknown as T[]
    }
    return withWarehouse(env, async (warehouse) => (await warehouse.sql.unsafe(text)) as unknown as T[])
  }
}

/**
 * Opens the warehouse `env` points at in this process, runs `fn` and lets go: the embedded database opens in
 * one process at a time, so between CLI runs only (a CLI that just exited may hold it a moment longer).
 */
export async function withWarehouse<T>(
  env: Record<string, string>,
  fn: (warehouse: Warehouse) => Promise<T>,
): Promise<T> {
  const warehouse = await connectWarehouse(resolveSettings({}, env), { lockWaitMs: 15_000 })
  try {
    return await fn(warehouse)
  } finally {
    await warehouse.close()
  }
}

/** Whether `schema` exists on the server `sql` is connected to. */
export async function schemaExists(sql: postgres.Sql, schema: string): Promise<boolean> {
  const rows = await sql<{ present: boolean }[]>`
    select exists (select from pg_namespace where nspname = ${schema}) as present`
  return rows[0]!.present
}
