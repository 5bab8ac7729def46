/**
 * The warehouse a command reads or writes, named the same way in every command's output and `--json`
 * (`target`): `postgres://etl@db:5432/market schema coincap`, or `embedded: ~/.local/share/crypto-etl schema
 * coincap`. Never a password, nor a URL's query string (which may hold one, e.g. `sslpassword`).
 */
import type { Settings } from '../config/settings.js'

/** Options of {@link describeTarget}. */
export interface TargetOptions {
  /** Written as `~` at the start of the embedded data directory (for people; `--json` keeps the full path). */
  home?: string
}

/** `user@` when there is a user. */
const userAt = (user: string | undefined) => (user ? `${user}@` : '')

function serverOf(database: Settings['database']): string {
  if (database.kind === 'libpq') {
    const port = database.port ?? 5432
    const db = database.database ?? database.user ?? ''
    // A Unix socket folder goes in libpq's `host` parameter, the way psql accepts it.
    if (database.host.startsWith('/')) {
      return `postgres://${userAt(database.user)}/${db}?host=${database.host}&port=${port}`
    }
    return `postgres://${userAt(database.user)}${database.host}:${port}/${db}`
  }
  if (database.kind === 'url') {
    try {
      const url = new URL(database.url)
      const user = decodeURIComponent(url.username)
      return `${url.protocol}//${userAt(user)}${url.hostname}:${url.port || 5432}${url.pathname}`
    } catch {
      // A multi-host URL that WHATWG URL does not parse: drop the password and the query by hand.
      return database.url.replace(/(\/\/[^:@/]*):[^@/]*@/, '$1@').replace(/\?.*$/, '')
    }
  }
  return ''
}

/** Names the warehouse of `settings`, e.g. `postgres://etl@db:5432/market schema coincap`. */
export function describeTarget(settings: Settings, options: TargetOptions = {}): string {
  const { database, schema } = settings
  if (database.kind !== 'embedded') return `${serverOf(database)} schema ${schema}`
  const home = options.home?.replace(/\/+$/, '')
  const dir =
    home && (database.dataDir === home || database.dataDir.startsWith(`${home}/`))
      ? `~${database.dataDir.slice(home.length)}`
      : database.dataDir
  return `embedded: ${dir} schema ${schema}`
}
