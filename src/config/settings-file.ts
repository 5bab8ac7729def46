/**
 * The settings file: `KEY=value` lines that every command reads, so a shell, cron and systemd see the same
 * settings. Found at `$XDG_CONFIG_HOME/crypto-etl/env`, else `~/.config/crypto-etl/env`, or where
 * `--env-file` / `CRYPTO_ETL_ENV_FILE` say.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseEnvFile } from 'dotenv'
import { ConfigError } from '../core/errors.js'
import { userDirs } from './user-dirs.js'

/** The variable that names the settings file: the spelling cron lines and systemd units use. */
export const ENV_FILE_VARIABLE = 'CRYPTO_ETL_ENV_FILE'

/** Where the settings file is read from when none is named. */
function defaultEnvFile(env: NodeJS.ProcessEnv): string {
  return join(userDirs(env).config, 'crypto-etl', 'env')
}

/** The settings file in force: the one named (and by what), or the default one. */
export interface SettingsFileChoice {
  path: string
  /** `--env-file` or `CRYPTO_ETL_ENV_FILE` when named; undefined for the default, which may be absent. */
  namedBy?: string
}

/** The file named by `--env-file`, else by `CRYPTO_ETL_ENV_FILE`, else the default. */
export function chooseEnvFile(flag: string | undefined, env: NodeJS.ProcessEnv): SettingsFileChoice {
  if (flag?.trim()) return { path: flag, namedBy: '--env-file' }
  const named = env[ENV_FILE_VARIABLE]?.trim()
  if (named) return { path: named, namedBy: ENV_FILE_VARIABLE }
  return { path: defaultEnvFile(env) }
}

const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of the path is not a folder',
}

/**
 * Reads the settings file's `KEY=value` lines. A named file must be readable (unless `missingOk`); the
 * default one is skipped when absent. @throws ConfigError (exit 78) naming the file when it cannot be read.
 */
export function readSettingsFile(
  choice: SettingsFileChoice,
  missingOk = false,
): { values: Record<string, string>; read: boolean } {
  let text: string
  try {
    text = readFileSync(choice.path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    if ((missingOk || !choice.namedBy) && code === 'ENOENT') return { values: {}, read: false }
    const by = choice.namedBy ? ` (named by ${choice.namedBy})` : ''
    throw new ConfigError(
      `Cannot read the settings file ${choice.path}${by}: ${READ_ERRORS[code] ?? code}.`,
      code === 'ENOENT'
        ? 'Create it (crypto-etl schedule --init writes a template), or name another with --env-file / CRYPTO_ETL_ENV_FILE.'
        : 'Make it a file of KEY=value lines that your user can read (chmod 600).',
    )
  }
  return { values: parseEnvFile(text), read: true }
}

/** What `schedule --init` writes (mode 0600): the key to fill in, and the database line to uncomment. */
export const SETTINGS_TEMPLATE = `# crypto-etl settings: read by every crypto-etl command, by cron and by systemd.
# It holds secrets: keep it private (chmod 600). Flags and environment variables override it.
# A CoinCap API key, from https://pro.coincap.io/dashboard
COINCAP_API_KEY=
# Your own Postgres; without it, the embedded database in ~/.local/share/crypto-etl
# DATABASE_URL=postgres://user:password@host:5432/dbname
# CRYPTO_ETL_SCHEMA=coincap
`
