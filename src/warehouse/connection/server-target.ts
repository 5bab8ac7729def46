/**
 * The server to connect to, from a URL or the libpq variables, as postgres.js's options. postgres.js is
 * never handed a URL or a host string to split itself: it cut `::1` at its first colon (and connected to
 * 127.0.0.1), and read `?host=` as a server setting.
 */
import type postgres from 'postgres'
import { defaultSocketDir, type Settings } from '../../config/settings.js'
import { formatHost, parsePostgresUrl, type PostgresUrl } from '../../config/postgres-url.js'

/** The server named by the settings (hosts, ports, user, password, database, other URL parameters). */
export function serverTarget(database: Exclude<Settings['database'], { kind: 'embedded' }>): PostgresUrl {
  if (database.kind === 'url') {
    const url = parsePostgresUrl(database.url)
    // As libpq: no host is the local server's default Unix socket.
    if (url.hosts.length === 0) return { ...url, hosts: [defaultSocketDir(url.ports[0] ?? 5432)] }
    return url
  }
  const hosts = database.host.split(',').map((h) => h.trim())
  return {
    hosts,
    ports: hosts.map(() => database.port ?? 5432),
    user: database.user,
    password: database.password,
    database: database.database,
    params: {},
  }
}

/** The first host, port and database, for messages (never the password). */
export function describeServerTarget(target: PostgresUrl): string {
  return `${formatHost(target.hosts[0]!, target.ports[0]!)}/${target.database ?? target.user ?? ''}`
}

/** URL parameters postgres.js reads as its own options and takes as numbers. */
const NUMBER_OPTIONS = new Set([
  'idle_timeout',
  'connect_timeout',
  'max_lifetime',
  'max_pipeline',
  'backoff',
  'keep_alive',
])
/** URL parameters postgres.js reads as its own options (the rest are server settings, as for libpq). */
const CLIENT_OPTIONS = new Set([
  ...NUMBER_OPTIONS,
  'max',
  'ssl',
  'sslnegotiation',
  'prepare',
  'debug',
  'fetch_types',
  'publications',
  'target_session_attrs',
])
/**
 * `pgbouncer=true`, which connection strings for Prisma carry (Supabase, Neon), needs nothing here
 * (statements are never prepared by name unless asked); postgres.js would send it to the server as a setting.
 */
const IGNORED_PARAMS = new Set(['pgbouncer'])

type Options = postgres.Options<Record<string, postgres.PostgresType>>

/**
 * postgres.js's options for `target`: hosts and ports as lists (an IPv6 address stays whole), the socket
 * path for a socket folder, and `params` split into client options and server settings (`settings`).
 */
export function targetOptions(
  target: PostgresUrl,
  params: Readonly<Record<string, string>>,
): { options: Options; settings: Record<string, string> } {
  const options: Record<string, unknown> = {
    host: target.hosts,
    port: target.ports,
    username: target.user,
    password: target.password,
    database: target.database,
  }
  const [host] = target.hosts
  if (target.hosts.length === 1 && host!.startsWith('/')) options.path = `${host}/.s.PGSQL.${target.ports[0]}`
  const settings: Record<string, string> = {}
  for (const [key, value] of Object.entries(params)) {
    if (IGNORED_PARAMS.has(key)) continue
    if (!CLIENT_OPTIONS.has(key)) settings[key] = value
    else if (value === 'false' || value === 'disable') options[key] = false
    else options[key] = NUMBER_OPTIONS.has(key) ? Number(value) : value
  }
  return { options: options as Options, settings }
}
