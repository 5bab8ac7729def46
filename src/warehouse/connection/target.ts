/**
 * The warehouse a command reads or writes, named the same way in every command's output and `--json`
 * (`target`): `postgres://etl@db:5432/market schema coincap`, or `embedded: ~/.local/share/crypto-etl schema
 * coincap`. Never a password, nor a URL's query string (which may hold one, e.g. `sslpassword`).
 */
import type { Settings } from '../../config/settings.js'
import { serverTarget } from './server-target.js'
import { formatHost } from '../../config/postgres-url.js'

/** Options of {@link describeTarget}. */
export interface TargetOptions {
  /** Written as `~` at the start of the embedded data directory (for people; `--json` keeps the full path). */
  home?: string
}

/** The server as a libpq URL without password or parameters; a Unix socket folder in `?host=`, as psql takes it. */
function serverOf(database: Exclude<Settings['database'], { kind: 'embedded' }>): string {
  const { hosts, ports, user, database: name } = serverTarget(database)
  const at = user ? `${user}@` : ''
  const db = name ?? user ?? ''
  if (hosts[0]!.startsWith('/')) return `postgres://${at}/${db}?host=${hosts[0]}&port=${ports[0]}`
  return `postgres://${at}${hosts.map((h, i) => formatHost(h, ports[i] ?? ports[0]!)).join(',')}/${db}`
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
