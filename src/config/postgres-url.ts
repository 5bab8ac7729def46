/**
 * Postgres connection URLs read the way libpq reads them, because postgres.js does not: it cut
 * `[::1]` at its first colon (ENOTFOUND "["), failed on a bare `%` (URIError), took a password holding
 * `@` or `/` apart and looked up a fragment of it as a host, and refused a Unix socket named by `?host=`.
 * Hosts: a name, an IPv4 address, an IPv6 address in brackets, a list of them (`h1:5432,h2:5433`), or a
 * Unix socket folder (percent-encoded in the authority, or `?host=/var/run/postgresql`; `postgres:///db`
 * alone means the local default socket).
 */

const SCHEME = /^postgres(?:ql)?:\/\//i

/** A URL taken apart: every part percent-decoded, `host`/`port` parameters applied, the rest in `params`. */
export interface PostgresUrl {
  /** Host names, IP addresses (IPv6 without brackets) or socket folders; empty for the default socket. */
  hosts: string[]
  /** One port per host (5432 unless given). */
  ports: number[]
  user?: string
  password?: string
  database?: string
  /** The other query parameters, decoded. */
  params: Record<string, string>
}

/** How to write the characters a URL's user and password cannot hold as they are. */
const ENCODE_HINT =
  'Percent-encode these characters in the user name and password: @ as %40, / as %2F, : as %3A, ? as %3F, # as %23, % as %25 (e.g. with encodeURIComponent).'

/** A URL that cannot be read as it stands: the message never quotes any part of it (it may be a password). */
export class PostgresUrlError extends Error {
  readonly hint = ENCODE_HINT
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw new PostgresUrlError('holds a % that does not start a percent-encoded character (such as %40)')
  }
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`: the host (decoded) and the port, if given. */
function splitHostPort(entry: string): [string, string | undefined] {
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(entry)
  if (v6) return [v6[1]!, v6[2]]
  const colon = entry.lastIndexOf(':')
  return colon === -1 ? [decode(entry), undefined] : [decode(entry.slice(0, colon)), entry.slice(colon + 1)]
}

/** Removes `key` from `params`, returning its value. */
function take(params: Record<string, string>, key: string): string | undefined {
  const value = params[key]
  delete params[key]
  return value
}

function toPort(text: string | undefined): number {
  if (text === undefined || text === '') return 5432
  const port = Number(text)
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new PostgresUrlError('has a port that is not 1 to 65535')
  return port
}

/**
 * Reads a `postgres://` or `postgresql://` URL.
 * @throws PostgresUrlError naming what is wrong, never quoting the URL.
 */
export function parsePostgresUrl(url: string): PostgresUrl {
  if (!SCHEME.test(url)) throw new PostgresUrlError('must start with postgres:// or postgresql://')
  const rest = url.replace(SCHEME, '')
  const authorityEnd = rest.search(/[/?]/)
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd)
  const tail = authorityEnd === -1 ? '' : rest.slice(authorityEnd)
  // One @ ends the user and password; any other, or one after the authority, means a password (or user)
  // holding @, / or ? unencoded: refused before a fragment of it is taken for a host and printed.
  if ((authority.match(/@/g)?.length ?? 0) > 1 || (tail.includes('@') && !authority.includes('@'))) {
    throw new PostgresUrlError('has a user or password with characters that must be percent-encoded')
  }
  if (url.includes('#')) throw new PostgresUrlError('has a # (a URL fragment, or a # to percent-encode)')
  const at = authority.lastIndexOf('@')
  const userinfo = at === -1 ? undefined : authority.slice(0, at)
  const hostlist = authority.slice(at + 1)
  const queryStart = tail.indexOf('?')
  const path = queryStart === -1 ? tail : tail.slice(0, queryStart)
  const params: Record<string, string> = {}
  if (queryStart !== -1) {
    for (const pair of tail.slice(queryStart + 1).split('&')) {
      if (!pair) continue
      const eq = pair.indexOf('=')
      params[decode(eq === -1 ? pair : pair.slice(0, eq))] = eq === -1 ? '' : decode(pair.slice(eq + 1))
    }
  }
  const colon = userinfo?.indexOf(':') ?? -1
  // As libpq: user, password and dbname parameters override the URL's own.
  const user = take(params, 'user') ?? (userinfo && decode(colon === -1 ? userinfo : userinfo.slice(0, colon)))
  const password = take(params, 'password') ?? (colon === -1 ? undefined : decode(userinfo!.slice(colon + 1)))
  const database = take(params, 'dbname') ?? (path.length > 1 ? decode(path.slice(1)) : undefined)

  // As libpq: the host and port parameters override what the authority says.
  const entries = hostlist === '' ? [] : hostlist.split(',').map(splitHostPort)
  const hostParam = take(params, 'host')
  const portParam = take(params, 'port')
  const hosts = hostParam !== undefined ? hostParam.split(',') : entries.map(([host]) => host)
  const portTexts = portParam !== undefined ? portParam.split(',') : entries.map(([, port]) => port)
  if (hosts.some((h) => h === '') && hosts.length > 1) throw new PostgresUrlError('has an empty host in its list')
  const nonEmpty = hosts.filter((h) => h !== '')
  // No host: the default socket, on the port given.
  const ports = (nonEmpty.length ? nonEmpty : ['']).map((_, i) =>
    toPort(portTexts.length <= 1 ? portTexts[0] : portTexts[i]),
  )
  return { hosts: nonEmpty, ports, user: user || undefined, password, database, params }
}

/** What is wrong with a database URL, worded without quoting it; undefined when it can be used. */
export function postgresUrlProblem(url: string): { message: string; hint: string } | undefined {
  try {
    parsePostgresUrl(url)
    return undefined
  } catch (error) {
    if (error instanceof PostgresUrlError) return { message: error.message, hint: error.hint }
    throw error
  }
}

/** `host:port` for messages: `[::1]:5432`, a socket folder as it is. */
export function formatHost(host: string, port: number): string {
  if (host.startsWith('/')) return `${host} (port ${port})`
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
