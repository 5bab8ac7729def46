/**
 * Transactions whose connection may die. postgres.js 3.4.9 (porsager/postgres#1208, also #1066, #1154,
 * #1215) crashes the process when the connection of a `sql.begin()` closes: `closed()` sets the
 * connection's socket to null, yet the transaction's scope keeps sending that connection queries: the
 * `rollback` it issues when the callback fails, or the `commit` when it returns, and any query the callback
 * makes after the close. `execute()` buffers the message and `nextWrite()` (connection.js:255) writes it
 * from a `setImmediate`: `socket.write` on null throws there, outside any promise, and the process dies.
 * And once the pool has reconnected that connection object, the callback's next query would run on the
 * new session, outside the transaction.
 *
 * {@link guardTransactions} replaces a client's `begin` so that once the transaction's connection is gone:
 * - the callback's queries are refused with the connection's error instead of being sent;
 * - the callback never hands control back to postgres.js, so neither `rollback` nor `commit` is sent: the
 *   server rolled the transaction back when the session ended, and `begin()` has already rejected with
 *   the connection's error (its race with the connection's `onclose`).
 * A `begin` that failed because its connection died, before the callback ran, is tried once more: a
 * connection killed in the middle of a query hands that stale error (57P01) to the next query sent on it
 * after it reconnected, and the query after that goes through.
 * Savepoints (`tx.savepoint`) are not guarded; nothing here uses them.
 */
import type postgres from 'postgres'
import { isSessionLost } from '../connection/connection-errors.js'
import { routeStatements } from '../connection/query-routing.js'

type Callback<T> = (tx: postgres.TransactionSql) => T | Promise<T>
type Begin = <T>(mode: string, fn: Callback<T>) => Promise<T>

/** How long a callback that failed on a lost session waits for its connection's close to be reported. */
const CLOSE_WAIT_MS = 1000

/** What the guarded transaction knows about its connection: `lost` once it closed. */
class Link {
  lost: Error | undefined
  private readonly waiters = new Set<() => void>()

  lose(error: unknown): void {
    if (this.lost) return
    this.lost = error instanceof Error ? error : new Error(String(error))
    for (const wake of this.waiters) wake()
  }

  /** Whether the connection is reported closed within `ms` (0: by the next turn of the event loop). */
  closedWithin(ms: number): Promise<boolean> {
    if (this.lost) return Promise.resolve(true)
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.waiters.delete(wake)
        resolve(this.lost !== undefined)
      }
      const timer = setTimeout(wake, ms)
      this.waiters.add(wake)
    })
  }
}

/** Runs the callback; once the connection is lost it never settles, so postgres.js sends nothing more. */
async function runCallback<T>(fn: Callback<T>, tx: postgres.TransactionSql, link: Link): Promise<T> {
  let result: T
  try {
    // A query is sent when first awaited, so the check happens then, not when the query is built.
    const guarded = routeStatements(tx, (query, send) => (link.lost ? query.reject(link.lost) : send(query)))
    const value = fn(guarded)
    // Like postgres.js, a callback may return an array of queries to run.
    result = (await (Array.isArray(value) ? Promise.all(value) : value)) as T
  } catch (error) {
    // A failure caused by the close shows before the close is reported: give the report a moment.
    if (await link.closedWithin(isSessionLost(error) ? CLOSE_WAIT_MS : 0)) return never()
    throw error
  }
  return link.lost ? never() : result
}

/** A promise that never settles: see porsager/postgres#1208 in the module comment. */
function never(): Promise<never> {
  return new Promise<never>(() => {})
}

function attempt<T>(begin: Begin, mode: string, fn: Callback<T>): Promise<T> {
  const link = new Link()
  const done = begin(mode, (tx) => runCallback(fn, tx, link))
  // While the callback runs, begin() rejects only when the connection closed (its race with onclose).
  done.catch((error: unknown) => link.lose(error))
  return done
}

async function beginGuarded<T>(begin: Begin, mode: string, fn: Callback<T>): Promise<T> {
  let started = false
  try {
    return await attempt(begin, mode, (tx) => {
      started = true
      return fn(tx)
    })
  } catch (error) {
    if (started || !isSessionLost(error)) throw error
    return attempt(begin, mode, fn)
  }
}

/**
 * Replaces `sql.begin` with one that survives the transaction's connection dying (see the module comment):
 * `begin()` then rejects with the connection's error and nothing more is written to the dead connection.
 * @returns `sql`, changed in place.
 */
export function guardTransactions(sql: postgres.Sql): postgres.Sql {
  const begin = sql.begin as unknown as Begin
  const guarded = <T>(modeOrFn: string | Callback<T>, maybeFn?: Callback<T>): Promise<T> =>
    typeof modeOrFn === 'function' ? beginGuarded(begin, '', modeOrFn) : beginGuarded(begin, modeOrFn, maybeFn!)
  sql.begin = guarded as postgres.Sql['begin']
  return sql
}
