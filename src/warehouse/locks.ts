/**
 * The run lock: only one `run` per warehouse at a time. On a server it is a session advisory lock held
 * on a reserved connection; the embedded database is already exclusive to this process (its data
 * directory is locked when opened), so there the lock is always granted.
 */
import type { Warehouse } from './connect.js'

export interface HeldLock {
  release(): Promise<void>
}

/** Takes the lock named `name` in the warehouse's schema without waiting; null when someone holds it. */
export async function tryLock(warehouse: Warehouse, name: string): Promise<HeldLock | null> {
  if (warehouse.kind === 'embedded') return { release: async () => {} }
  const key = `crypto-etl:${name}:${warehouse.schema}`
  const conn = await warehouse.sql.reserve()
  try {
    const [row] = await conn<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as locked`
    if (!row?.locked) {
      conn.release()
      return null
    }
  } catch (error) {
    conn.release()
    throw error
  }
  return {
    async release() {
      await conn`select pg_advisory_unlock(hashtext(${key}))`.catch(() => {})
      conn.release()
    },
  }
}

/** The lock of `run`. */
export function tryRunLock(warehouse: Warehouse): Promise<HeldLock | null> {
  return tryLock(warehouse, 'run')
}
