import { describe, expect, it } from 'vitest'
import { globalFlags } from '../../../src/cli/global-flags.js'
import { settingsSchema } from '../../../src/config/settings.js'
import { SETTING_ENTRIES } from '../../../src/config/settings-table.js'

describe('the table of settings', () => {
  it('makes a global flag of each flag it names (but oclif’s --json), saying which variable it also reads', () => {
    const summaries = Object.fromEntries(Object.entries(globalFlags).map(([name, flag]) => [name, flag.summary]))
    expect(summaries).toEqual({
      'database-url': 'Postgres URL, e.g. postgres://user:pass@host:5432/db?sslmode=require. Env: DATABASE_URL.',
      'data-dir': 'Folder of the embedded database, used when no URL or PGHOST is set. Env: CRYPTO_ETL_DATA_DIR.',
      schema: 'Postgres schema for all tables (default coincap). Env: CRYPTO_ETL_SCHEMA.',
      'api-key': 'CoinCap API key. Env: COINCAP_API_KEY.',
      'api-url': 'CoinCap base URL (default https://rest.coincap.io/v3). Env: COINCAP_API_URL.',
      'env-file':
        'Settings file of KEY=value lines (default ~/.config/crypto-etl/env, when it exists). Env: CRYPTO_ETL_ENV_FILE.',
      'log-format': 'Log lines on stderr as text or json. Env: CRYPTO_ETL_LOG_FORMAT.',
      verbose: 'More detail: each request, stack traces. Env: DEBUG.',
      quiet: 'Print errors only.',
    })
    expect(globalFlags['log-format'].options).toEqual(['text', 'json'])
    expect([globalFlags.verbose.type, globalFlags.quiet.type, globalFlags.schema.type]).toEqual([
      'boolean',
      'boolean',
      'option',
    ])
    expect(globalFlags.quiet.exclusive).toEqual(['verbose'])
  })

  it('makes the schema of every variable it gives a check, and of no other', () => {
    const checked = SETTING_ENTRIES.filter((e) => e.schema).map((e) => e.variable)
    expect(Object.keys(settingsSchema.shape)).toEqual(checked)
    expect(checked).not.toContain('CRYPTO_ETL_ENV_FILE')
    expect(checked).toContain('PGSSLKEY')
  })
})
