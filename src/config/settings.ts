/**
 * Every setting of crypto-etl in one zod schema. Precedence: flag > environment > settings file > default;
 * an empty value counts as unset. A setting that fails validation is a {@link ConfigError} (exit 78)
 * naming the setting.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../core/errors.js'
import { chooseEnvFile, homeOf, readSettingsFile } from './settings-file.js'
import { SSL_MODES, type TlsParams } from './tls-params.js'
import { parsePostgresUrl, postgresUrlProblem } from './postgres-url.js'
import { parseDuration } from './time.js'

export const DEFAULT_API_URL = 'https://rest.coincap.io/v3'
export const DEFAULT_SCHEMA = 'coincap'

/** Where the embedded database lives when nothing else is configured. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_DATA_HOME?.trim()
  return join(xdg ? xdg : join(homeOf(env), '.local', 'share'), 'crypto-etl')
}

/** Where libpq looks for a local server's socket without PGHOST: Debian's folder, then upstream's. */
export const DEFAULT_SOCKET_DIRS = ['/var/run/postgresql', '/tmp']

/** The first default socket folder holding a server's socket for `port`, else the first of them. */
export function defaultSocketDir(port: number): string {
  return DEFAULT_SOCKET_DIRS.find((dir) => existsSync(join(dir, `.s.PGSQL.${port}`))) ?? DEFAULT_SOCKET_DIRS[0]!
}

const postgresUrl = z.string().superRefine((value, ctx) => {
  if (!/^postgres(ql)?:\/\//i.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be a URL like postgres://user@host:5432/db' })
    return
  }
  // Worded without quoting the URL: any part of it may be a password.
  const problem = postgresUrlProblem(value)
  if (problem) ctx.addIssue({ code: 'custom', message: problem.message, params: { hint: problem.hint } })
})

const httpUrl = z.string().refine((value) => {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}, 'must be an http(s) URL')

const port = z.coerce.number().int().min(1).max(65535)

/** The settings schema; keys are the names the user sees in messages. */
export const settingsSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  PGHOST: z.string().optional(),
  PGPORT: port.optional(),
  PGUSER: z.string().optional(),
  PGPASSWORD: z.string().optional(),
  PGDATABASE: z.string().optional(),
  PGSSLMODE: z.enum(SSL_MODES).optional(),
  PGSSLROOTCERT: z.string().optional(),
  PGSSLCERT: z.string().optional(),
  PGSSLKEY: z.string().optional(),
  CRYPTO_ETL_DATA_DIR: z.string().min(1),
  CRYPTO_ETL_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (letters, digits, _), e.g. coincap')
    // Postgres's own schemas (pg_catalog, pg_toast, pg_temp, ...) and the SQL standard's information_schema.
    .refine((v) => !v.startsWith('pg_') && v !== 'information_schema', 'names a system schema; use e.g. coincap'),
  // Sent as an HTTP header, which cannot carry spaces, line breaks or other control characters.
  COINCAP_API_KEY: z
    .string()
    .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces or line breaks (a pasting mistake?)')
    .optional(),
  COINCAP_API_URL: httpUrl,
  CRYPTO_ETL_LOG_FORMAT: z.enum(['text', 'json']),
  CRYPTO_ETL_API_RETRIES: z.coerce.number().int().min(0).max(20),
  CRYPTO_ETL_API_TIMEOUT: z.string().refine((v) => parseDuration(v) !== undefined, 'must be a duration such as 30s'),
  CRYPTO_ETL_DB_TIMEOUT: z
    .string()
    .refine((v) => parseDuration(v) !== undefined, 'must be a duration such as 60s')
    .optional(),
  CRYPTO_ETL_LOCK_TIMEOUT: z.string().refine((v) => parseDuration(v) !== undefined, 'must be a duration such as 10s'),
  DEBUG: z.string().optional(),
})

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
  logFormat: 'text' | 'json'
  verbose: boolean
  quiet: boolean
  /** Values never to print: API key, database password. */
  secrets: string[]
  /** The settings file that was read, if any. */
  settingsFile?: string
}

/** The global flags as parsed by oclif (undefined when not given). */
export interface SettingFlags {
  'database-url'?: string
  'data-dir'?: string
  schema?: string
  'api-key'?: string
  'api-url'?: string
  'env-file'?: string
  'log-format'?: string
  verbose?: boolean
  quiet?: boolean
}

const flagToKey: Record<string, keyof z.input<typeof settingsSchema>> = {
  'database-url': 'DATABASE_URL',
  'data-dir': 'CRYPTO_ETL_DATA_DIR',
  schema: 'CRYPTO_ETL_SCHEMA',
  'api-key': 'COINCAP_API_KEY',
  'api-url': 'COINCAP_API_URL',
  'log-format': 'CRYPTO_ETL_LOG_FORMAT',
}

const keyToFlag = Object.fromEntries(Object.entries(flagToKey).map(([flag, key]) => [key, flag]))

/** Drops empty values: an empty variable counts as unset. */
function nonEmpty(values: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value.trim() !== '') out[key] = value
  return out
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
  const fromFile = nonEmpty(values)
  const fromEnv = nonEmpty(env)
  const fromFlags: Record<string, string> = {}
  for (const [flag, key] of Object.entries(flagToKey)) {
    const value = flags[flag as keyof SettingFlags]
    if (typeof value === 'string' && value.trim() !== '') fromFlags[key] = value
  }
  const merged: Record<string, string> = {
    CRYPTO_ETL_DATA_DIR: defaultDataDir({ ...fromFile, ...fromEnv }),
    CRYPTO_ETL_SCHEMA: DEFAULT_SCHEMA,
    COINCAP_API_URL: DEFAULT_API_URL,
    CRYPTO_ETL_LOG_FORMAT: 'text',
    CRYPTO_ETL_API_RETRIES: '5',
    CRYPTO_ETL_API_TIMEOUT: '30s',
    CRYPTO_ETL_LOCK_TIMEOUT: '10s',
  }
  for (const key of Object.keys(settingsSchema.shape)) {
    const value = fromFlags[key] ?? fromEnv[key] ?? fromFile[key]
    if (value !== undefined) merged[key] = value
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
  const database = databaseOf(s)
  const url = s.DATABASE_URL ? parsePostgresUrl(s.DATABASE_URL) : undefined
  const urlPassword = url?.password
  const urlSslPassword = url?.params.sslpassword
  return {
    database,
    tls: { sslmode: s.PGSSLMODE, sslrootcert: s.PGSSLROOTCERT, sslcert: s.PGSSLCERT, sslkey: s.PGSSLKEY },
    dataDir: s.CRYPTO_ETL_DATA_DIR,
    schema: s.CRYPTO_ETL_SCHEMA,
    apiKey: s.COINCAP_API_KEY,
    apiUrl: s.COINCAP_API_URL.replace(/\/+$/, ''),
    apiRetries: s.CRYPTO_ETL_API_RETRIES,
    apiTimeoutMs: parseDuration(s.CRYPTO_ETL_API_TIMEOUT)!,
    dbTimeoutMs: s.CRYPTO_ETL_DB_TIMEOUT === undefined ? undefined : parseDuration(s.CRYPTO_ETL_DB_TIMEOUT),
    lockTimeoutMs: parseDuration(s.CRYPTO_ETL_LOCK_TIMEOUT)!,
    logFormat: s.CRYPTO_ETL_LOG_FORMAT,
    verbose: Boolean(flags.verbose) || Boolean(s.DEBUG),
    quiet: Boolean(flags.quiet),
    secrets: [s.COINCAP_API_KEY, urlPassword, s.PGPASSWORD, urlSslPassword].filter((v): v is string => Boolean(v)),
    settingsFile: read ? file.path : undefined,
  }
}
