/**
 * The table of settings: every setting once, with its global flag, its variable (environment and settings
 * file), how it is validated, its default and what it means. The global flags (cli/global-flags.ts), the zod
 * schema (settings.ts) and the settings table of docs/settings.md (`npm run docs`) are made from it, so a new
 * setting is one entry here plus the field of {@link Settings} that the program reads.
 */
import { join } from 'node:path'
import { z } from 'zod'
import { postgresUrlProblem } from './postgres-url.js'
import { ENV_FILE_VARIABLE } from './settings-file.js'
import { parseDuration } from './time.js'
import { SSL_MODES } from './tls-params.js'
import { userDirs } from './user-dirs.js'

export const DEFAULT_API_URL = 'https://rest.coincap.io/v3'
const DEFAULT_SCHEMA = 'coincap'
const LOG_FORMATS = ['text', 'json'] as const
/** Where libpq looks for a local server's socket without PGHOST: Debian's folder, then upstream's. */
export const DEFAULT_SOCKET_DIRS = ['/var/run/postgresql', '/tmp']

/** Where the embedded database lives when nothing else is configured. */
function defaultDataDir(env: Readonly<Record<string, string | undefined>>): string {
  return join(userDirs(env).data, 'crypto-etl')
}

// --- How values are checked ------------------------------------------------------------------------------

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

const duration = (example: string) =>
  z.string().refine((v) => parseDuration(v) !== undefined, `must be a duration such as ${example}`)

const schemaName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier (letters, digits, _), e.g. coincap')
  // Postgres's own schemas (pg_catalog, pg_toast, pg_temp, ...) and the SQL standard's information_schema.
  .refine((v) => !v.startsWith('pg_') && v !== 'information_schema', 'names a system schema; use e.g. coincap')

// Sent as an HTTP header, which cannot carry spaces, line breaks or other control characters.
const apiKey = z
  .string()
  .regex(/^[\x21-\x7e]+$/, 'must be printable characters without spaces or line breaks (a pasting mistake?)')

// --- The table -----------------------------------------------------------------------------------------

/** A global flag: its name without `--`, its line in `--help`, and whether it is a switch. */
export interface GlobalFlagDefinition {
  name: string
  /** The line in `--help`; ` Env: <variable>.` is added for a setting with a variable. */
  summary?: string
  /** A switch (`--verbose`) rather than a flag with a value. */
  boolean?: true
  /** Flags it cannot be given with. */
  exclusive?: readonly string[]
  /** oclif's own (`--json`): listed for the docs, not defined again. */
  oclif?: true
}

/** What docs/settings.md says of a setting. Entries sharing one `docs` object share one row. */
export interface SettingDocs {
  meaning: string
  /** The default column; else the entry's `default` in code, `off` for a switch, `none` otherwise. */
  default?: string
}

/** One entry of {@link SETTINGS}. */
export interface SettingDefinition {
  flag?: GlobalFlagDefinition
  /** The variable of the environment and the settings file. */
  variable?: string
  /** How the variable's value is checked; without one, it is read outside the schema (the settings file's name). */
  schema?: z.ZodType
  /** The value when no flag, variable or settings file line gives one: text, or made from the variables. */
  default?: string | ((variables: Readonly<Record<string, string | undefined>>) => string)
  /**
   * A value to keep out of output, logs and the database: all of it (`value`: a key, a password), or the
   * password of the URL it holds (`url`).
   */
  secret?: 'value' | 'url'
  docs: SettingDocs
}

const code = (text: string) => `\`${text}\``

const LIBPQ: SettingDocs = {
  default: '',
  meaning: `used when no URL is given and ${code('PGHOST')}, ${code('PGUSER')} or ${code('PGDATABASE')} is set (no URL-encoding of passwords); without ${code('PGHOST')}, as libpq does, a server on the default Unix socket (${DEFAULT_SOCKET_DIRS.map(code).join(', else ')})`,
}

const LIBPQ_TLS: SettingDocs = {
  default: code('prefer'),
  meaning: `TLS as libpq: apply to a URL without its own ${['sslmode', 'sslrootcert', 'sslcert', 'sslkey'].map(code).join(', ')} (see [tls.md](tls.md))`,
}

/** Every setting, in the order of docs/settings.md. */
const SETTINGS = [
  {
    flag: { name: 'database-url', summary: 'Postgres URL, e.g. postgres://user:pass@host:5432/db?sslmode=require.' },
    variable: 'DATABASE_URL',
    schema: postgresUrl.optional(),
    secret: 'url',
    docs: {
      meaning:
        'any Postgres, `postgres://user:pass@host:5432/db?sslmode=require`; as libpq: `[::1]` for IPv6, `h1,h2:5433` for a list, `postgres:///db?host=/var/run/postgresql` for a Unix socket. Percent-encode `@ / : ? # %` in the user and password (`%40`, `%2F`, ...)',
    },
  },
  { variable: 'PGHOST', schema: z.string().optional(), docs: LIBPQ },
  { variable: 'PGPORT', schema: port.optional(), docs: LIBPQ },
  { variable: 'PGUSER', schema: z.string().optional(), docs: LIBPQ },
  { variable: 'PGPASSWORD', schema: z.string().optional(), secret: 'value', docs: LIBPQ },
  { variable: 'PGDATABASE', schema: z.string().optional(), docs: LIBPQ },
  { variable: 'PGSSLMODE', schema: z.enum(SSL_MODES).optional(), docs: LIBPQ_TLS },
  { variable: 'PGSSLROOTCERT', schema: z.string().optional(), docs: LIBPQ_TLS },
  { variable: 'PGSSLCERT', schema: z.string().optional(), docs: LIBPQ_TLS },
  { variable: 'PGSSLKEY', schema: z.string().optional(), docs: LIBPQ_TLS },
  {
    flag: { name: 'data-dir', summary: 'Folder of the embedded database, used when no URL or PGHOST is set.' },
    variable: 'CRYPTO_ETL_DATA_DIR',
    schema: z.string().min(1),
    default: defaultDataDir,
    docs: {
      default: '`$XDG_DATA_HOME/crypto-etl` or `~/.local/share/crypto-etl`',
      meaning: 'embedded database, used when neither a URL nor a `PG*` server is set',
    },
  },
  {
    flag: { name: 'schema', summary: `Postgres schema for all tables (default ${DEFAULT_SCHEMA}).` },
    variable: 'CRYPTO_ETL_SCHEMA',
    schema: schemaName,
    default: DEFAULT_SCHEMA,
    docs: { meaning: 'Postgres schema for all tables' },
  },
  {
    flag: { name: 'api-key', summary: 'CoinCap API key.' },
    variable: 'COINCAP_API_KEY',
    schema: apiKey.optional(),
    secret: 'value',
    docs: { meaning: 'CoinCap v3 key, sent as `Authorization: Bearer`' },
  },
  {
    flag: { name: 'api-url', summary: `CoinCap base URL (default ${DEFAULT_API_URL}).` },
    variable: 'COINCAP_API_URL',
    schema: httpUrl,
    default: DEFAULT_API_URL,
    docs: { meaning: 'base URL (a proxy, a mirror, a test server)' },
  },
  {
    variable: 'CRYPTO_ETL_API_RETRIES',
    schema: z.coerce.number().int().min(0).max(20),
    default: '5',
    docs: { meaning: 'retries of a failed CoinCap call (429, 5xx, timeouts) before exit 69' },
  },
  {
    variable: 'CRYPTO_ETL_API_TIMEOUT',
    schema: duration('30s'),
    default: '30s',
    docs: { meaning: 'time limit of one CoinCap request' },
  },
  {
    variable: 'CRYPTO_ETL_LOCK_TIMEOUT',
    schema: duration('10s'),
    default: '10s',
    docs: {
      meaning:
        'how long one statement waits for a lock another session holds (a row of `assets`, a table); `run` tries a dataset 3 times, other commands once, then exit 74 "Waited 3 × 10 s for a lock on assets held by another session". A signal ends the wait at once. On a server, `load` makes partitions in transactions of their own, so a bulk load does not hold a table a cron run writes to. On the embedded database, also how long `run` waits for the data directory another process holds (the dashboard reading, say) before it skips',
    },
  },
  {
    variable: 'CRYPTO_ETL_EMBEDDED_IDLE',
    schema: z
      .string()
      .refine((v) => v.trim() === '0' || parseDuration(v) !== undefined, 'must be a duration such as 10m, or 0'),
    default: '10m',
    docs: {
      meaning:
        'on the embedded database, how long the resident process keeps it open after its last command, so the next command (a cron run, the dashboard) does not pay for starting it; `0`: no resident, each command opens the database itself (docs/operations.md)',
    },
  },
  {
    variable: 'CRYPTO_ETL_DASHBOARD_TOKEN',
    // Sent in a cookie and an Authorization header: printable, no spaces or separators; too long to guess.
    schema: z
      .string()
      .regex(/^[A-Za-z0-9._~+/=-]{16,200}$/, 'must be 16 to 200 letters, digits or ._~+/=- (e.g. openssl rand -hex 24)')
      .optional(),
    secret: 'value',
    docs: {
      default: 'none (a new one, printed once)',
      meaning:
        'the token `dashboard --host <not loopback>` asks for: 16 to 200 characters of `A-Z a-z 0-9 . _ ~ + / = -`, e.g. `openssl rand -hex 24`',
    },
  },
  {
    variable: 'CRYPTO_ETL_DB_TIMEOUT',
    schema: duration('60s').optional(),
    docs: {
      default: '`60s`; `10m` for `load`, `backfill`, `prune`, `migrate`',
      meaning:
        'how long one statement may wait for the database\'s answer before exit 74 "No answer from the database"',
    },
  },
  {
    flag: {
      name: 'env-file',
      summary: 'Settings file of KEY=value lines (default ~/.config/crypto-etl/env, when it exists).',
    },
    variable: ENV_FILE_VARIABLE,
    docs: { default: '`~/.config/crypto-etl/env` if it exists', meaning: 'the settings file (above)' },
  },
  {
    flag: { name: 'log-format', summary: 'Log lines on stderr as text or json.' },
    variable: 'CRYPTO_ETL_LOG_FORMAT',
    schema: z.enum(LOG_FORMATS),
    default: 'text',
    docs: {
      meaning:
        '`text`, or `json`: every stderr line one object, the closing summary (`run_id`, `status`, `rows`, `credits`, `exit_code`) and the final error (`msg`, `hint`, `exit_code`) included; stdout then stays empty unless `--json`',
    },
  },
  {
    flag: { name: 'json', boolean: true, oclif: true },
    docs: { meaning: "print the command's result as JSON on stdout" },
  },
  {
    flag: { name: 'verbose', summary: 'More detail: each request, stack traces.', boolean: true },
    variable: 'DEBUG',
    schema: z.string().optional(),
    docs: { meaning: 'more detail: each request, stack traces' },
  },
  {
    flag: { name: 'quiet', summary: 'Print errors only.', boolean: true, exclusive: ['verbose'] },
    docs: { meaning: 'errors only' },
  },
] as const satisfies readonly SettingDefinition[]

// --- What the table says, for the code that reads it -----------------------------------------------------

type Entry = (typeof SETTINGS)[number]
type Validated = Extract<Entry, { variable: string; schema: z.ZodType }>
type OwnFlag = Exclude<Extract<Entry, { flag: object }>, { flag: { oclif: true } }>

/** The schema's shape: each validated variable and its check, keyed by the variable's name. */
export type SettingsShape = { [E in Validated as E['variable']]: E['schema'] }

/** The names of the global flags crypto-etl defines (all but oclif's `--json`). */
export type GlobalFlagName = OwnFlag['flag']['name']

/** Whether global flag `N` is a switch. */
export type IsSwitch<N extends GlobalFlagName> = Extract<OwnFlag, { flag: { name: N } }>['flag'] extends {
  boolean: true
}
  ? true
  : false

/** The global flags as parsed by oclif (undefined when not given). */
export type SettingFlags = { [N in GlobalFlagName]?: IsSwitch<N> extends true ? boolean : string }

/** The entries of the table, seen through their common type. */
export const SETTING_ENTRIES: readonly SettingDefinition[] = SETTINGS

/** The global flags, as `--name`, whose value is a secret: all of it (`value`), or a URL's password (`url`). */
export function secretFlags(kind: 'value' | 'url'): string[] {
  return SETTING_ENTRIES.flatMap((e) => (e.secret === kind && e.flag ? [`--${e.flag.name}`] : []))
}

/** The variables whose value is a secret: all of it (`value`: `COINCAP_API_KEY`), a URL's password (`url`). */
export function secretVariables(kind: 'value' | 'url'): string[] {
  return SETTING_ENTRIES.flatMap((e) => (e.secret === kind && e.variable ? [e.variable] : []))
}
