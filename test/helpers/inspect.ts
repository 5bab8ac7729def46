/**
 * Reads a test's warehouse from outside the CLI, between CLI runs: a server schema through an admin
 * connection, or the embedded data directory opened just for the query (one process at a time may hold it).
 */
import postgres from 'postgres'
import { resolveSettings } from '../../src/config/settings.js'
import { connectWarehouse } from '../../src/warehouse/connection/connect.js'
import { TEST_DATABASE_URL } from './env.js'
import type { Target } from './warehouse.js'

/** The admin connection to the test server; end it in `afterAll`. */
export function adminConnection(): postgres.Sql {
  return postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} })
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
    const warehouse = await connectWarehouse(resolveSettings({}, env), { lockWaitMs: 10_000 })
    try {
      return (await warehouse.sql.unsafe(text)) as unknown as T[]
    } finally {
      await warehouse.close()
    }
  }
}
