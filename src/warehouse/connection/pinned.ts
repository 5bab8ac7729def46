/**
 * Every statement runs in a transaction that starts by pinning the settings it depends on (search_path
 * and the like) with `set_config(name, value, true)`, i.e. `SET LOCAL`. A statement sent outside a
 * transaction gets a transaction of its own. So nothing depends on startup parameters (which poolers
 * refuse) or on session state (which a transaction-mode pooler does not keep: two transactions of one
 * client may run on two backends), and the embedded database behaves the same way.
 *
 * Each statement also has a client-side deadline: when the database does not answer in time, the
 * statement (and its transaction) fails with exit 74 "no answer from the database in N s", so that a
 * cron job never hangs on a pooler or a server that stopped answering.
 */
import type postgres from 'postgres'
import { DatabaseError } from '../../core/errors.js'
import { type QueryInternals, type Route, routeStatements } from './query-routing.js'

type Sql = postgres.Sql
type Tx = postgres.TransactionSql
type Callback<T> = (tx: Tx) => T | Promise<T>
type Begin = <T>(mode: string, fn: Callback<T>) => Promise<T>

export interface PinOptions {
  /** Settings each transaction starts with, name → value (e.g. search_path → `"coincap", public`). */
  settings: Readonly<Record<string, string>>
  /** Seconds one statement (or a transaction's begin or commit) may wait for its answer; 0: no limit. */
  answerTimeoutSeconds: number
  /** When it aborts, every statement still waiting for its answer is cancelled (a signal ends a lock wait). */
  cancelOn?: AbortSignal
  /** Where the database is, for the message (never a password). */
  location: string
  /** Called once, when the first statement got no answer in time (after it failed with `error`). */
  onNoAnswer?(error: DatabaseError): void
}

/** `'a''b'`: a string literal; the values pinned are crypto-etl's own, never user input. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`
}

/** One simple-protocol statement (no parameters, so no extra describe round trip) that pins everything. */
function pinStatement(settings: Readonly<Record<string, string>>): string | undefined {
  const calls = Object.entries(settings).map(([name, value]) => `set_config(${literal(name)}, ${literal(value)}, true)`)
  return calls.length ? `select ${calls.join(', ')}` : undefined
}

/** Per-client state: the deadline, and the error of the first statement that got no answer. */
class Deadline {
  noAnswer: DatabaseError | undefined

  readonly canceller: Canceller

  constructor(private readonly options: PinOptions) {
    this.canceller = new Canceller(options.cancelOn)
  }

  /** Runs `onTimeout` if `settled` has not settled within the deadline. */
  watch(settled: { then(a: () => void, b: () => void): unknown }, onTimeout: (error: DatabaseError) => void): void {
    const seconds = this.options.answerTimeoutSeconds
    if (!seconds) return
    const timer = setTimeout(() => onTimeout(this.fire()), seconds * 1000)
    const clear = () => clearTimeout(timer)
    settled.then(clear, clear)
  }

  private fire(): DatabaseError {
    if (this.noAnswer) return this.noAnswer
    const seconds = this.options.answerTimeoutSeconds
    this.noAnswer = new DatabaseError(
      `No answer from the database at ${this.options.location} in ${seconds} s.`,
      'Check the server (and any pooler in front of it); raise CRYPTO_ETL_DB_TIMEOUT if a statement needs longer.',
    )
    this.options.onNoAnswer?.(this.noAnswer)
    return this.noAnswer
  }
}

/**
 * Cancels the statements still waiting for their answer when `signal` aborts (postgres.js sends each cancel
 * request on a connection of its own). One listener per client, however many statements are in flight.
 */
class Canceller {
  private readonly waiting = new Set<QueryInternals>()

  constructor(private readonly signal: AbortSignal | undefined) {
    signal?.addEventListener('abort', () => this.waiting.forEach((query) => void query.cancel()), { once: true })
  }

  /** Watches `query` until it settles. What is sent after the signal (recording the run interrupted) is left alone. */
  watch(query: QueryInternals): void {
    if (!this.signal || this.signal.aborted) return
    this.waiting.add(query)
    const forget = () => this.waiting.delete(query)
    query.then(forget, forget)
  }
}

/** Sends `query` with `send`, failing it when no answer comes before the deadline. */
function sendWatched(query: QueryInternals, send: (q: QueryInternals) => void, deadline: Deadline): void {
  deadline.watch(query, (error) => query.reject(error))
  send(query)
  deadline.canceller.watch(query)
}

/**
 * Sends `query` at once. Awaiting a query sends it a microtask later; sending both the pinning statement
 * and a statement outside any transaction this way keeps them in that order on the connection.
 */
function sendNow(query: QueryInternals): void {
  query.executed = true
  query.handler(query)
}

/** A promise that rejects with the deadline's error if `phase` does not settle in time. */
function phaseDeadline(deadline: Deadline): { start(): void; stop(): void; failed: Promise<never> } {
  let fail: (error: DatabaseError) => void = () => {}
  let stop = () => {}
  const failed = new Promise<never>((_, reject) => (fail = reject))
  failed.catch(() => {})
  return {
    start() {
      stop()
      let done = () => {}
      deadline.watch(new Promise<void>((resolve) => (done = resolve)), fail)
      stop = done
    },
    stop: () => stop(),
    failed,
  }
}

/**
 * Makes `sql` run every statement in a transaction that starts with the pinned settings, under the
 * deadline (see the module comment). `sql.begin` must already be guarded (transactions.ts).
 * @returns a client to use instead of `sql`.
 */
export function pinSettings(sql: Sql, options: PinOptions): Sql {
  const deadline = new Deadline(options)
  const pin = pinStatement(options.settings)
  const begin = sql.begin as unknown as Begin

  const pinnedBegin = async <T>(mode: string, fn: Callback<T>): Promise<T> => {
    // The deadline of begin (until the callback runs) and of commit or rollback (after it returns).
    const phase = phaseDeadline(deadline)
    phase.start()
    const done = begin(mode, async (tx) => {
      phase.stop()
      const scoped = routeStatements(tx, (query, send) => sendWatched(query, send, deadline))
      if (pin) {
        // Not awaited: it goes ahead of the callback's first statement on the same connection (one round
        // trip for both), and if it fails, so does that statement and the transaction.
        const pinning = scoped.unsafe(pin) as unknown as QueryInternals
        sendNow(pinning)
        // After sending: awaiting an unsent query sends it (again, here). Its failure fails the transaction.
        pinning.catch(() => {})
      }
      try {
        // Like postgres.js, a callback may return an array of queries to run.
        const value = fn(scoped)
        return (await (Array.isArray(value) ? Promise.all(value) : value)) as T
      } finally {
        phase.start()
      }
    })
    try {
      return await Promise.race([done, phase.failed])
    } catch (error) {
      // Once a statement went unanswered, the errors that follow (a rollback on a dead connection) are its.
      throw deadline.noAnswer ?? error
    } finally {
      phase.stop()
    }
  }
  const beginWith = <T>(modeOrFn: string | Callback<T>, maybeFn?: Callback<T>): Promise<T> =>
    typeof modeOrFn === 'function' ? pinnedBegin('', modeOrFn) : pinnedBegin(modeOrFn, maybeFn!)

  /**
   * A statement sent outside a transaction runs in one of its own, on the same Query object. Its answer
   * is handed on once the transaction committed: a caller's next statement, maybe on another connection,
   * sees what this one wrote. (So a COPY, whose answer is a stream, needs an explicit transaction.)
   */
  const inOwnTransaction: Route = (query) => {
    const settle = { resolve: query.resolve, reject: query.reject }
    const answered = new Promise((resolve, reject) => {
      Object.assign(query, { resolve, reject })
    })
    pinnedBegin('', (tx) => {
      // The transaction's own sender (found on an unsent query of it) sends this query there.
      const carrier = tx.unsafe('') as unknown as QueryInternals
      carrier.handler(query)
      deadline.canceller.watch(query)
      return answered
    }).then(settle.resolve, settle.reject)
  }

  return routeStatements(sql, inOwnTransaction, { begin: beginWith })
}
