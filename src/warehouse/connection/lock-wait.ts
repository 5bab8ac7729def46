/**
 * Waits on locks other sessions hold. Every transaction runs with a `lock_timeout` (connect.ts,
 * pinnedSettings), so a row or table lock kept by someone else fails a statement with 55P03 instead of
 * stalling it forever; a unit of work that can be redone is tried again a few times, then exit 74 with a
 * line that names the table it waited for.
 */
import { DatabaseError } from '../../core/errors.js'

/** SQLSTATE lock_not_available: `lock_timeout` ran out (or NOWAIT found the lock taken). */
const LOCK_NOT_AVAILABLE = '55P03'

/** Tries of a unit of work that can be redone (a dataset of `run`) while it meets a lock timeout. */
const LOCK_ATTEMPTS = 3

export function isLockTimeout(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE
}

/**
 * The table a lock timeout waited for: from the error's context ("while updating tuple (0,1) in relation
 * "assets""), else the first table its statement names.
 */
function lockedTable(error: unknown): string | undefined {
  const err = error as { where?: unknown; query?: unknown }
  const where = typeof err.where === 'string' ? /relation "([^"]+)"/.exec(err.where)?.[1] : undefined
  if (where) return where
  const query = typeof err.query === 'string' ? err.query : ''
  const tables = query.matchAll(/\b(?:into|update|from|table|join)\s+(?:(?:"[^"]+"|\w+)\.)?("[^"]+"|\w+)/gi)
  // The system catalogs a statement reads are not what another session locks.
  const names = [...tables].map((m) => m[1]!.replace(/"/g, '')).filter((name) => !name.startsWith('pg_'))
  return names[0]
}

/** Seconds for a message: `10 s`, `1.5 s`. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`
}

/**
 * Exit 74 for a statement that waited `attempts` × `lockTimeoutMs` for a lock another session held;
 * `suspect` names a job that may hold it (`load run 12 is running`).
 */
export function lockWaitError(error: unknown, lockTimeoutMs: number, attempts = 1, suspect?: string): DatabaseError {
  const table = lockedTable(error)
  const what = table ? `a lock on ${table}` : 'a lock'
  const waited = attempts > 1 ? `${attempts} × ${seconds(lockTimeoutMs)}` : seconds(lockTimeoutMs)
  return new DatabaseError(
    `Waited ${waited} for ${what} held by another session${suspect ? ` (${suspect})` : ''}.`,
    'Find the holder in pg_stat_activity (a long transaction or a bulk load); raise CRYPTO_ETL_LOCK_TIMEOUT to wait longer.',
    { cause: error },
  )
}

/**
 * Runs `fn`, and again (up to `attempts` runs in all, `backoffMs` × the try apart) while it fails on a lock
 * timeout; then exit 74 naming the table. Not retried once `signal` is aborted.
 */
export async function retryOnLockTimeout<T>(
  fn: () => Promise<T>,
  lockTimeoutMs: number,
  options: {
    attempts?: number
    backoffMs?: number
    signal?: AbortSignal
    /** Names a job that may hold the lock, for the message; its failure leaves the message as it is. */
    suspect?: () => Promise<string | undefined>
  } = {},
): Promise<T> {
  const { attempts = LOCK_ATTEMPTS, backoffMs = 500, signal } = options
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (!isLockTimeout(error) || signal?.aborted) throw error
      if (attempt >= attempts) {
        const suspect = await options.suspect?.().catch(() => undefined)
        throw lockWaitError(error, lockTimeoutMs, attempts, suspect)
      }
      await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt))
    }
  }
}
