/**
 * The run lock: only one `run` per warehouse at a time. On a server it is a session advisory lock held
 * by a session of its own (one dedicated connection); the embedded database is already exclusive to this
 * process (its data directory is locked when opened), so there the lock is always granted.
 */
import type { Session, Warehouse } from './connect.js'

export interface HeldLock {
  release(): Promise<void>
}

/** Takes the lock named `name` in the warehouse's schema without waiting; null when someone holds it. */
export async function tryLock(warehouse: Warehouse, name: string): Promise<HeldLock | null> {
  if (warehouse.kind === 'embedded') return { release: async () => {} }
  const key = `crypto-etl:${name}:${warehouse.schema}`
  const session = openLockSession(warehouse)
  try {
    const [row] = await session.sql<{ locked: boolean }[]>`select pg_try_advisory_lock(hashtext(${key})) as locked`
    // Ending the session releases its advisory locks, and works even when the server already ended it.
    if (row?.locked) return { release: () => session.end() }
  } catch (error) {
    await session.end()
    throw error
  }
  await session.end()
  return null
}

/**
 * A session of its own rather than `sql.reserve()`: once a reserved connection's backend dies, any query
 * on it (the unlock) crashes the process in postgres.js 3.4.9 (porsager/postgres#1208).
 */
function openLockSession(warehouse: Warehouse): Session {
  if (!warehouse.openSession) throw new Error(`The warehouse at ${warehouse.location} cannot open a session.`)
  return warehouse.openSession()
}

/** The lock of `run`. */
export function tryRunLock(warehouse: Warehouse): Promise<HeldLock | null> {
  return tryLock(warehouse, 'run')
}
