/**
 * Opens the warehouse: any Postgres named by the settings, or the embedded PGlite in the data
 * directory served over a private Unix socket, so every database is spoken to by postgres.js alone.
 */
import net from 'node:net'
import postgres from 'postgres'
import type { Settings } from '../../config/settings.js'
import { ConfigError, DatabaseError } from '../../core/errors.js'
import { maskSecrets } from '../../core/secrets.js'
import { toDatabaseError } from './database-errors.js'
import { type EmbeddedServer, startEmbedded } from '../embedded/embedded.js'
import { connectResident } from '../embedded/resident-client.js'
import { pinSettings } from './pinned.js'
import { PINNED_SESSION_SETTINGS, PINNED_STARTUP_PARAMETERS } from './session-settings.js'
import { describeServerTarget, serverTarget, targetOptions } from './server-target.js'
import { mergeTlsParams, requiresTls, splitLibpqParams, sslOption } from './tls.js'
import { parsePostgresUrl, PostgresUrlError } from '../../config/postgres-url.js'
import { guardTransactions } from '../writing/transactions.js'

export type Sql = postgres.Sql
/** A connection or an open transaction: what query functions accept. */
export type Db = postgres.Sql | postgres.TransactionSql

/** An open warehouse connection. `close()` is idempotent and safe to call from signal handlers. */
export interface Warehouse {
  sql: Sql
  kind: 'server' | 'embedded'
  schema: string
  /** Where the data lives, for messages: host/db or the data directory (never a password). */
  location: string
  /** The embedded database's data directory, whose free space is watched while loading; unset on a server. */
  dataDir?: string
  /** Set when this connection created the embedded database: from the shipped seed, or by PGlite's initdb. */
  createdFrom?: 'seed' | 'initdb'
  /** Set once a statement got no answer within the deadline: the error every command then exits with (74). */
  readonly noAnswer?: DatabaseError
  /** How long one statement waits for another session's lock before it fails with 55P03 (lock-wait.ts), in ms. */
  lockTimeoutMs?: number
  /**
   * Opens a client of one connection of its own with the pool's settings, for session state such as an
   * advisory lock. Servers only; `close()` ends the sessions still open.
   */
  openSession?(): Session
  close(): Promise<void>
}

/** A client of one dedicated connection; `end()` closes it (releasing its session locks) and never throws. */
export interface Session {
  sql: Sql
  end(): Promise<void>
}

export interface ConnectOptions {
  /** Seconds to wait for a server to answer before exit 74. */
  connectTimeoutSeconds?: number
  /** Pool size on a server; the embedded database always uses one connection. */
  max?: number
  /** How long a second process waits for the embedded data directory's lock, in ms. */
  lockWaitMs?: number
  /** Seconds one statement may wait for its answer before it fails with exit 74 (default 60; 0: no limit). */
  answerTimeoutSeconds?: number
  /** How long one statement may wait for a lock another session holds, in ms (default 10 s). */
  lockTimeoutMs?: number
  /** When it aborts (a signal), the statements still waiting for their answer are cancelled. Servers only. */
  signal?: AbortSignal
  /**
   * Makes every transaction read-only and cuts each statement off after this many ms (`statement_timeout`;
   * a server enforces it, the embedded database cannot): for readers that must never write (the dashboard).
   */
  readOnlyTimeoutMs?: number
}

/** The default of {@link ConnectOptions.lockTimeoutMs}. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000

function lockTimeoutOf(options: ConnectOptions): number {
  return options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
}

/** The default of {@link ConnectOptions.answerTimeoutSeconds}. */
export const DEFAULT_ANSWER_TIMEOUT_SECONDS = 60
/** The deadline of bulk commands (load, backfill, prune, migrate), whose statements move files and partitions. */
export const BULK_ANSWER_TIMEOUT_SECONDS = 600

/**
 * The settings every statement runs with, pinned at the start of each transaction (see pinned.ts). The
 * schema is chosen here, not by a startup parameter: poolers refuse those, and a transaction-mode pooler
 * does not keep a session's SET from one transaction to the next. The rule for all SQL: send it through
 * a warehouse's `sql` (or a transaction of it), never SET a session setting, and add what a statement
 * depends on here instead.
 */
function pinnedSettings(schema: string, lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Record<string, string> {
  // lock_timeout: a row or table lock another session keeps never stalls a command for long (see locks.ts).
  return { search_path: `"${schema}", public`, ...PINNED_SESSION_SETTINGS, lock_timeout: `${lockTimeoutMs}ms` }
}

/** Where the settings point, for messages: host:port/database or the embedded data directory (no password). */
export function describeTarget(settings: Settings): string {
  const db = settings.database
  if (db.kind === 'embedded') return `embedded database in ${db.dataDir}`
  return describeServerTarget(serverTarget(db))
}

/**
 * The first byte a Postgres server can send: an authentication request, an error or notice, the answer to
 * an SSL request, or a protocol-version negotiation.
 */
const POSTGRES_FIRST_BYTES = new Set(['R', 'E', 'N', 'S', 'v'].map((c) => c.charCodeAt(0)))

/** The start of a peer's answer, printable and short, for the message that says it is not Postgres. */
function answerStart(chunk: Buffer): string {
  const line = chunk.subarray(0, 40).toString('latin1').split(/\r?\n/)[0] ?? ''
  return line.replace(/[^\x20-\x7e]/g, '?')
}

function notPostgresError(message: string): Error {
  return Object.assign(new Error(message), { code: 'NOT_POSTGRES' })
}

/**
 * Opens the TCP connection to a server with Nagle's algorithm off. postgres.js leaves it on, and then the
 * small message that ends each COPY waits for the server's delayed ACK: about 40 ms per statement.
 *
 * It also watches how each connection starts: when the peer is not Postgres (an HTTP server or a proxy on
 * that port answers something else, or hangs up without a word), postgres.js would reconnect without end,
 * so the next attempt fails at once with a message that says what happened.
 */
function tcpWithoutDelay(timeoutSeconds: number, tlsRequired: boolean) {
  let notPostgres: Error | undefined
  return (o: { host: string[]; port: number[] }) => {
    const host = o.host[0]!
    const port = o.port[0]!
    if (notPostgres) return Promise.reject(notPostgres)
    return new Promise<net.Socket>((resolve, reject) => {
      // host and port on the socket are what postgres.js names in its own errors ("write CONNECT_TIMEOUT host:port").
      const socket = Object.assign(net.connect({ host, port, noDelay: true }), { host, port })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(Object.assign(new Error(`connect timeout to ${host}:${port}`), { code: 'CONNECT_TIMEOUT' }))
      }, timeoutSeconds * 1000)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        let answered = false
        // No data can arrive before postgres.js adds its own listener: it does so before any I/O event runs.
        socket.once('data', (chunk: Buffer) => {
          answered = true
          // 'N' declines the SSL request postgres.js sends first; it would then start TLS all the same.
          if (tlsRequired && chunk[0] === 'N'.charCodeAt(0) && chunk.length === 1) {
            notPostgres = Object.assign(new Error(`${host}:${port} does not accept TLS, which sslmode asks for`), {
              code: 'NO_TLS',
            })
            socket.destroy()
            return
          }
          if (POSTGRES_FIRST_BYTES.has(chunk[0]!)) return
          notPostgres = notPostgresError(
            `${host}:${port} is not a Postgres server: it answered "${answerStart(chunk)}"`,
          )
          socket.destroy()
        })
        // 'end' is the peer hanging up; a socket this process destroys (a timeout, sql.end) never sees it.
        socket.once('end', () => {
          if (!answered) notPostgres ??= notPostgresError(`${host}:${port} closed the connection without answering`)
        })
        resolve(socket)
      })
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
    })
  }
}

type Options = postgres.Options<Record<string, postgres.PostgresType>>

/**
 * Named prepared statements only when the URL asks for them (`?prepare=true`): they live in one backend,
 * so behind a transaction-mode pooler the next transaction may not find them (26000), and a command
 * sends each statement a handful of times at most.
 */
function preparesStatements(settings: Settings): boolean {
  return urlParams(settings).prepare === 'true'
}

/** The query parameters of the database URL, decoded (none for the libpq variables). */
function urlParams(settings: Settings): Record<string, string> {
  return settings.database.kind === 'url' ? parsePostgresUrl(settings.database.url).params : {}
}

/**
 * Seconds to wait for a server to answer: the caller's, else the URL's `connect_timeout` (as libpq: at
 * least 2; 0 means the default here, not forever, so a cron job cannot hang), else 5.
 */
function connectTimeoutOf(settings: Settings, options: ConnectOptions): number {
  if (options.connectTimeoutSeconds !== undefined) return options.connectTimeoutSeconds
  const fromUrl = Number(urlParams(settings).connect_timeout ?? Number.NaN)
  return Number.isInteger(fromUrl) && fromUrl > 0 ? Math.max(fromUrl, 2) : 5
}

function serverOptions(settings: Settings, options: ConnectOptions): Options {
  const connectTimeout = connectTimeoutOf(settings, options)
  const db = settings.database as Exclude<Settings['database'], { kind: 'embedded' }>
  const target = serverTarget(db)
  // libpq's client-side parameters stay here: postgres.js would send them to the server as settings.
  const { params, tls: urlTls } = splitLibpqParams(target.params)
  const fromTarget = targetOptions(target, params)
  const common: Options & { socket?: ReturnType<typeof tcpWithoutDelay> } = {
    ...fromTarget.options,
    max: options.max ?? 4,
    connect_timeout: connectTimeout,
    idle_timeout: 30,
    onnotice: () => {},
    prepare: preparesStatements(settings),
    // Only the startup parameters poolers forward (pgbouncer: these and client_encoding, DateStyle, TimeZone,
    // standard_conforming_strings; others are refused with 08P01). The schema and every other setting a
    // statement depends on are pinned in each transaction instead (pinnedSettings).
    connection: { application_name: 'crypto-etl', ...fromTarget.settings, ...PINNED_STARTUP_PARAMETERS },
  }
  const tlsParams = mergeTlsParams(urlTls, settings.tls)
  const [host] = target.hosts
  const oneTcpHost = target.hosts.length === 1 && !host!.startsWith('/')
  common.ssl = sslOption(tlsParams, target.hosts.length === 1 ? host : undefined)
  // One TCP host: postgres.js takes the socket from us (its types omit the option). A Unix socket path or a
  // host list stays with postgres.js's own connection code.
  if (oneTcpHost) common.socket = tcpWithoutDelay(connectTimeout, requiresTls(tlsParams))
  return common
}

/** A postgres.js client of the server named by the settings, with `overrides` on top of the pool's options. */
function serverClient(settings: Settings, options: ConnectOptions, overrides: Options = {}): Sql {
  return postgres({ ...serverOptions(settings, options), ...overrides })
}

/**
 * `sql` guarded (transactions.ts) and pinned (pinned.ts): the only way a client is handed out. When a
 * statement gets no answer in time, every connection of the client is dropped so that nothing else (a
 * rollback, the next statement) waits on it, and `onNoAnswer` hears of it.
 */
/** What went unanswered, shared by a warehouse's clients. */
interface NoAnswer {
  error?: DatabaseError
}

function pinnedClient(sql: Sql, schema: string, location: string, options: ConnectOptions, noAnswer: NoAnswer): Sql {
  const readOnly: Record<string, string> =
    options.readOnlyTimeoutMs === undefined
      ? {}
      : { transaction_read_only: 'on', statement_timeout: `${options.readOnlyTimeoutMs}ms` }
  return pinSettings(guardTransactions(sql), {
    settings: { ...pinnedSettings(schema, lockTimeoutOf(options)), ...readOnly },
    cancelOn: options.signal,
    answerTimeoutSeconds: options.answerTimeoutSeconds ?? DEFAULT_ANSWER_TIMEOUT_SECONDS,
    location,
    onNoAnswer(error) {
      void sql.end({ timeout: 0 }).catch(() => {})
      noAnswer.error ??= error
    },
  })
}

/** A session keeps its one connection as long as it is open: no idle or lifetime recycling. */
const SESSION_OPTIONS: Options = { max: 1, idle_timeout: 0, max_lifetime: null }

/** Opens sessions on demand and remembers the open ones, to end them when the warehouse closes. */
function sessionFactory(open: () => Sql): { open(): Session; endAll(): Promise<void> } {
  const live = new Set<Sql>()
  const end = (sql: Sql) => sql.end({ timeout: 1 }).catch(() => {})
  return {
    open() {
      const sql = open()
      live.add(sql)
      const close = () => {
        live.delete(sql)
        return end(sql)
      }
      return { sql, end: close }
    },
    async endAll() {
      await Promise.all([...live].map(end))
      live.clear()
    },
  }
}

/**
 * Connects to the warehouse named by the settings and checks it answers.
 * @throws DatabaseError (74) when unreachable within the connect timeout; ConfigError (78) for a bad URL.
 */
export async function connectWarehouse(settings: Settings, options: ConnectOptions = {}): Promise<Warehouse> {
  // The embedded database has one connection, so nothing of another session can hold a lock there; and it
  // takes no cancel requests.
  if (settings.database.kind === 'embedded') {
    return connectEmbedded(settings, describeTarget(settings), { ...options, signal: undefined })
  }

  const noAnswer: NoAnswer = {}
  const pinned = (client: Sql) => pinnedClient(client, settings.schema, location, options, noAnswer)
  let sql: Sql
  let location: string
  try {
    location = describeTarget(settings)
    sql = pinned(serverClient(settings, options))
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const hint = error instanceof PostgresUrlError ? error.hint : undefined
    throw new ConfigError(`Invalid --database-url / DATABASE_URL: ${(error as Error).message}.`, hint, {
      cause: error,
    })
  }
  const sessions = sessionFactory(() => pinned(serverClient(settings, options, SESSION_OPTIONS)))
  const warehouse: Warehouse = Object.assign(
    makeWarehouse(sql, 'server', settings.schema, location, noAnswer, lockTimeoutOf(options), () => sessions.endAll()),
    { openSession: () => sessions.open() },
  )
  // A little over the connect timeout, so that a plain timeout reports itself first.
  await checkReachable(warehouse, settings, connectTimeoutOf(settings, options) + 2)
  return warehouse
}

/** Where the embedded database is served: a resident's turn, or the database opened in this process. */
async function openEmbedded(settings: Settings, options: ConnectOptions) {
  const viaResident =
    settings.embeddedIdleMs > 0
      ? await connectResident(settings.dataDir, { idleMs: settings.embeddedIdleMs, lockWaitMs: options.lockWaitMs })
      : undefined
  if (viaResident) {
    const { socket } = viaResident
    let handedOut = false
    return {
      createdFrom: viaResident.createdFrom,
      // The turn is one connection: a session that ended cannot be reopened behind the resident's back.
      socket: () => {
        if (handedOut) return Promise.reject(new Error('the connection to the embedded database ended'))
        handedOut = true
        return Promise.resolve(socket)
      },
      stop: () => {
        socket.destroy()
        return Promise.resolve()
      },
    }
  }
  const server: EmbeddedServer = await startEmbedded(settings.dataDir, { lockWaitMs: options.lockWaitMs })
  return { createdFrom: server.createdFrom, path: server.socketPath, stop: () => server.stop() }
}

async function connectEmbedded(settings: Settings, location: string, options: ConnectOptions): Promise<Warehouse> {
  const served = await openEmbedded(settings, options)
  const noAnswer: NoAnswer = {}
  // Pinned like a server's (pinnedSettings): PGlite ignores startup parameters anyway.
  const sql: Sql = pinnedClient(
    postgres({
      ...(served.socket ? { socket: served.socket } : { path: served.path }),
      max: 1,
      // One private connection for the life of the process (PGlite serves one at a time).
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      username: 'postgres',
      database: 'postgres',
      password: '',
      ssl: false,
      onnotice: () => {},
    } as Options),
    settings.schema,
    location,
    options,
    noAnswer,
  )
  const warehouse: Warehouse = Object.assign(
    makeWarehouse(sql, 'embedded', settings.schema, location, noAnswer, lockTimeoutOf(options), served.stop),
    { dataDir: settings.dataDir, createdFrom: served.createdFrom },
  )
  try {
    await sql`select 1`
  } catch (error) {
    await warehouse.close()
    throw new DatabaseError(`The embedded database in ${settings.dataDir} did not answer: ${(error as Error).message}`)
  }
  return warehouse
}

function makeWarehouse(
  sql: Sql,
  kind: Warehouse['kind'],
  schema: string,
  location: string,
  noAnswer: NoAnswer,
  lockTimeoutMs: number,
  /** Runs after the pool has ended: stops the embedded server, ends a server's sessions. */
  afterEnd: () => Promise<void>,
): Warehouse {
  let closing: Promise<void> | undefined
  return {
    sql,
    kind,
    schema,
    location,
    lockTimeoutMs,
    get noAnswer() {
      return noAnswer.error
    },
    close() {
      closing ??= (async () => {
        await sql.end({ timeout: 2 }).catch(() => {})
        await afterEnd()
      })()
      return closing
    },
  }
}

/** The oldest server crypto-etl supports, as `server_version_num` counts (12.0). */
const MIN_SERVER_VERSION_NUM = 120000

/**
 * Asks the server for its version, and refuses one older than {@link MIN_SERVER_VERSION_NUM}. The deadline
 * is a backstop: the socket catches the peers known to send postgres.js into endless reconnects (see
 * tcpWithoutDelay), but not a Unix socket or a list of hosts.
 */
async function checkReachable(warehouse: Warehouse, settings: Settings, timeoutSeconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(Object.assign(new Error(`no Postgres answer within ${timeoutSeconds} s`), { code: 'CONNECT_TIMEOUT' })),
      timeoutSeconds * 1000,
    )
  })
  let version: { num: number; text: string } | undefined
  try {
    const ask = warehouse.sql<{ num: number; text: string }[]>`
      select current_setting('server_version_num')::int as num, current_setting('server_version') as text`
    ;[version] = await Promise.race([ask, deadline])
  } catch (error) {
    // A zero timeout ends the connection attempts in progress instead of waiting for them.
    await warehouse.sql.end({ timeout: 0 }).catch(() => {})
    await warehouse.close()
    throw (
      settingError(error, settings.secrets) ??
      toDatabaseError(error, `Cannot reach the database at ${warehouse.location}`)
    )
  } finally {
    clearTimeout(timer)
  }
  if (version && version.num < MIN_SERVER_VERSION_NUM) {
    await warehouse.close()
    throw new ConfigError(
      `The database at ${warehouse.location} runs PostgreSQL ${version.text}: crypto-etl needs PostgreSQL 12 or newer.`,
      'Point --database-url / DATABASE_URL at a PostgreSQL 12 (or newer) server.',
    )
  }
}

/**
 * A server that refused the connection for a setting the URL gave it (`?foo=bar`: 42704, unrecognized
 * parameter; `?statement_timeout=abc`: 22023, invalid value) is answering: the setting is wrong (78).
 */
function settingError(error: unknown, secrets: readonly string[]): ConfigError | undefined {
  const err = error as { code?: string; message?: string }
  if (err.code !== '42704' && err.code !== '22023') return undefined
  return new ConfigError(
    `Invalid setting --database-url / DATABASE_URL: the server refused it: ${maskSecrets(err.message ?? '', secrets)}.`,
    'Remove or correct that parameter in the URL.',
  )
}
