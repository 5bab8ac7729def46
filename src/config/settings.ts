/**
 * The settings as the program reads them, resolved from the table of settings (settings-table.ts).
 * Precedence: flag > environment > settings file > default; an empty value counts as unset. A setting that
 * fails validation is a {@link ConfigError} (exit 78) naming the setting.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../core/errors.js'
import { chooseEnvFile, readSettingsFile, type SettingsFileChoice } from './settings-file.js'
import {
  DEFAULT_SOCKET_DIRS,
  SETTING_ENTRIES,
  type SettingDefinition,
  type SettingFlags,
  type SettingsShape,
} from './settings-table.js'
import type { TlsParams } from './tls-params.js'
import { parsePostgresUrl } from './postgres-url.js'
import { parseDuration } from './time.js'
import { type UserDirs, userDirs } from './user-dirs.js'

export type { SettingFlags } from './settings-table.js'

/** The first default socket folder holding a server's socket for `port`, else the first of them. */
export function defaultSocketDir(port: number): string {
  return DEFAULT_SOCKET_DIRS.find((dir) => existsSync(join(dir, `.s.PGSQL.${port}`))) ?? DEFAULT_SOCKET_DIRS[0]!
}

/** The entries of the table whose variable the schema checks. */
const VALIDATED = SETTING_ENTRIES.filter((e): e is SettingDefinition & { variable: string; schema: z.ZodType } =>
  Boolean(e.variable && e.schema),
)

/** The settings schema, from the table; keys are the variables' names, which the user sees in messages. */
export const settingsSchema = z.object(
  Object.fromEntries(VALIDATED.map((e) => [e.variable, e.schema])) as SettingsShape,
)

/** The variables the settings read: the schema's, and XDG_DATA_HOME, which moves the embedded database. */
const SETTING_VARIABLES = [...VALIDATED.map((e) => e.variable), 'XDG_DATA_HOME']

/** Where a setting's value came from. */
export type SettingSource = 'flag' | 'environment' | 'file'

/** Validated settings as the rest of the program sees them. */
export interface Settings {
  database:
    | { kind: 'url'; url: string }
    | {
        kind: 'libpq'
        host: string
        port?: number
        user?: string
        password?: string
        database?: string
      }
    | { kind: 'embedded'; dataDir: string }
  /** TLS from `PGSSLMODE`/`PGSSLROOTCERT`/`PGSSLCERT`/`PGSSLKEY`; a URL's own parameters override them. */
  tls: TlsParams
  dataDir: string
  schema: string
  apiKey?: string
  apiUrl: string
  /** Retries of a failed CoinCap call (429, 5xx, timeouts) before exit 69. */
  apiRetries: number
  /** Time limit of one CoinCap request, in ms. */
  apiTimeoutMs: number
  /** How long one statement may wait for the database's answer, in ms; unset: the command's default. */
  dbTimeoutMs?: number
  /** How long one statement may wait for a lock another session holds, in ms, before it is tried again. */
  lockTimeoutMs: number
  /** Embedded: how long the resident process stays after its last command, in ms; 0: no resident. */
  embeddedIdleMs: number
  /** The token a dashboard on a non-loopback host asks for; unset: it makes one and prints it once. */
  dashboardToken?: string
  logFormat: 'text' | 'json'
  verbose: boolean
  quiet: boolean
  /** Values never to print: API key, database password. */
  secrets: string[]
  /** The settings file in force (named, or the default one), and whether it was there to read. */
  settingsFile: SettingsFileChoice & { read: boolean }
  /** The variables each source gave a value to (the schema's and XDG_DATA_HOME; a flag counts as its variable). */
  sources: Record<SettingSource, string[]>
  /** The user's home and XDG folders, from the environment. */
  dirs: UserDirs
}

/** The variable of each global flag that has one, and back. */
const flagToKey = Object.fromEntries(
  SETTING_ENTRIES.flatMap((e) => (e.flag && e.variable && e.schema ? [[e.flag.name, e.variable]] : [])),
)
const keyToFlag = Object.fromEntries(Object.entries(flagToKey).map(([flag, key]) => [key, flag]))

/** Drops empty values: an empty variable counts as unset. */
function nonEmpty(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value.trim() !== '') out[key] = value
  return out
}

/** The variables the global flags give values to: a switch gives `true`, an empty value none. */
function flagValues(flags: SettingFlags): Record<string, string> {
  const values: Record<string, string> = {}
  for (const [flag, key] of Object.entries(flagToKey)) {
    const value = flags[flag as keyof SettingFlags]
    if (value === true || (typeof value === 'string' && value.trim() !== '')) values[key] = String(value)
  }
  return values
}

/**
 * The database the settings name: a URL; else the libpq variables, with PGHOST or, as libpq does, on the
 * default Unix socket when only PGUSER or PGDATABASE is set; else the embedded database.
 */
function databaseOf(s: z.output<typeof settingsSchema>): Settings['database'] {
  if (s.DATABASE_URL) return { kind: 'url', url: s.DATABASE_URL }
  if (!s.PGHOST && !s.PGUSER && !s.PGDATABASE) return { kind: 'embedded', dataDir: s.CRYPTO_ETL_DATA_DIR }
  return {
    kind: 'libpq',
    host: s.PGHOST ?? defaultSocketDir(s.PGPORT ?? 5432),
    port: s.PGPORT,
    user: s.PGUSER,
    password: s.PGPASSWORD,
    database: s.PGDATABASE,
  }
}

/**
 * Resolves the settings from flags, the environment and the settings file (`--env-file`, else
 * `CRYPTO_ETL_ENV_FILE`, else `~/.config/crypto-etl/env` when it exists).
 * @throws ConfigError (exit 78) naming the first invalid setting, or a settings file that cannot be read.
 */
export function resolveSettings(
  flags: SettingFlags,
  env: NodeJS.ProcessEnv = process.env,
  options: { settingsFileOptional?: boolean } = {},
): Settings {
  const file = chooseEnvFile(flags['env-file'], env)
  const { values, read } = readSettingsFile(file, options.settingsFileOptional)
  const given: Record<SettingSource, Record<string, string>> = {
    flag: flagValues(flags),
    environment: nonEmpty(env),
    file: nonEmpty(values),
  }
  const merged: Record<string, string> = {}
  for (const { variable, default: fallback } of VALIDATED) {
    const value = given.flag[variable] ?? given.environment[variable] ?? given.file[variable]
    const byDefault = typeof fallback === 'function' ? fallback({ ...given.file, ...given.environment }) : fallback
    if (value !== undefined || byDefault !== undefined) merged[variable] = value ?? byDefault!
  }
  const parsed = settingsSchema.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const key = String(issue.path[0])
    const name = keyToFlag[key] ? `--${keyToFlag[key]} / ${key}` : key
    const hint = issue.code === 'custom' ? (issue.params?.hint as string | undefined) : undefined
    throw new ConfigError(`Invalid setting ${name}: ${issue.message}.`, hint)
  }
  const s = parsed.data
  const secrets = VALIDATED.flatMap((e) => {
    const value = merged[e.variable]
    if (!value || !e.secret) return []
    // A URL's password and the passphrase of its TLS key are secrets; the rest of it is shown.
    const url = e.secret === 'url' ? parsePostgresUrl(value) : undefined
    return url ? [url.password, url.params.sslpassword] : [value]
  })
  const sources = (source: SettingSource) => SETTING_VARIABLES.filter((v) => given[source][v] !== undefined)
  return {
    database: databaseOf(s),
    tls: { sslmode: s.PGSSLMODE, sslrootcert: s.PGSSLROOTCERT, sslcert: s.PGSSLCERT, sslkey: s.PGSSLKEY },
    dataDir: s.CRYPTO_ETL_DATA_DIR,
    schema: s.CRYPTO_ETL_SCHEMA,
    apiKey: s.COINCAP_API_KEY,
    apiUrl: s.COINCAP_API_URL.replace(/\/+$/, ''),
    apiRetries: s.CRYPTO_ETL_API_RETRIES,
    apiTimeoutMs: parseDuration(s.CRYPTO_ETL_API_TIMEOUT)!,
    dbTimeoutMs: s.CRYPTO_ETL_DB_TIMEOUT === undefined ? undefined : parseDuration(s.CRYPTO_ETL_DB_TIMEOUT),
    lockTimeoutMs: parseDuration(s.CRYPTO_ETL_LOCK_TIMEOUT)!,
    embeddedIdleMs: s.CRYPTO_ETL_EMBEDDED_IDLE.trim() === '0' ? 0 : parseDuration(s.CRYPTO_ETL_EMBEDDED_IDLE)!,
    dashboardToken: s.CRYPTO_ETL_DASHBOARD_TOKEN,
    logFormat: s.CRYPTO_ETL_LOG_FORMAT,
    verbose: Boolean(s.DEBUG),
    quiet: Boolean(flags.quiet),
    secrets: secrets.filter((v): v is string => Boolean(v)),
    settingsFile: { ...file, read },
    sources: { flag: sources('flag'), environment: sources('environment'), file: sources('file') },
    dirs: userDirs(env),
  }
}
