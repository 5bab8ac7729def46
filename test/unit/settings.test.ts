import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/config/settings.js'
import { ConfigError } from '../../src/core/errors.js'

function envFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'crypto-etl-env-')), 'env')
  writeFileSync(path, text)
  return path
}

describe('settings', () => {
  it('defaults to the embedded database in the XDG data directory', () => {
    const s = resolveSettings({}, { XDG_DATA_HOME: '/data/xdg' })
    expect(s.database).toEqual({ kind: 'embedded', dataDir: '/data/xdg/crypto-etl' })
    expect(s.schema).toBe('coincap')
    expect(s.apiUrl).toBe('https://rest.coincap.io/v3')
    expect(s.logFormat).toBe('text')
  })

  it('falls back to ~/.local/share/crypto-etl without XDG_DATA_HOME', () => {
    expect(resolveSettings({}, {}).dataDir).toBe(join(homedir(), '.local', 'share', 'crypto-etl'))
  })

  it('takes a flag over the environment over the env file over the default', () => {
    const file = envFile(
      'CRYPTO_ETL_SCHEMA=from_file\nCOINCAP_API_KEY=file-key\nCOINCAP_API_URL=http://file.example/v3\n',
    )
    const s = resolveSettings(
      { 'env-file': file, schema: 'from_flag' },
      { CRYPTO_ETL_SCHEMA: 'from_env', COINCAP_API_KEY: 'env-key' },
    )
    expect([s.schema, s.apiKey, s.apiUrl]).toEqual(['from_flag', 'env-key', 'http://file.example/v3'])
  })

  it('counts an empty variable as unset', () => {
    const s = resolveSettings({}, { DATABASE_URL: '', CRYPTO_ETL_SCHEMA: '  ', COINCAP_API_KEY: '' })
    expect(s.database.kind).toBe('embedded')
    expect(s.schema).toBe('coincap')
    expect(s.apiKey).toBeUndefined()
  })

  it('uses a URL before the libpq variables, and the libpq variables when PGHOST is set', () => {
    const url = resolveSettings({}, { DATABASE_URL: 'postgres://u:p@db:5432/x', PGHOST: 'other' })
    expect(url.database).toEqual({ kind: 'url', url: 'postgres://u:p@db:5432/x' })
    const libpq = resolveSettings(
      {},
      { PGHOST: 'db', PGPORT: '5433', PGUSER: 'etl', PGPASSWORD: 's3cret!', PGDATABASE: 'm' },
    )
    expect(libpq.database).toEqual({
      kind: 'libpq',
      host: 'db',
      port: 5433,
      user: 'etl',
      password: 's3cret!',
      database: 'm',
    })
  })

  it('reads PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY with a URL as with PGHOST, and refuses an unknown mode', () => {
    const env = { PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/ca.crt', PGSSLCERT: '/c.crt', PGSSLKEY: '/c.key' }
    const tls = { sslmode: 'verify-full', sslrootcert: '/ca.crt', sslcert: '/c.crt', sslkey: '/c.key' }
    expect(resolveSettings({}, { ...env, DATABASE_URL: 'postgres://u@db/x' }).tls).toEqual(tls)
    expect(resolveSettings({}, { ...env, PGHOST: 'db' }).tls).toEqual(tls)
    expect(() => resolveSettings({}, { PGSSLMODE: 'on' })).toThrow(/^Invalid setting PGSSLMODE: /)
  })

  it("masks a URL's sslpassword (the passphrase of the client key) as a secret", () => {
    const s = resolveSettings({}, { DATABASE_URL: 'postgres://u@db/x?sslkey=/k&sslpassword=kp-1' })
    expect(s.secrets).toEqual(['kp-1'])
  })

  it('lists the API key and database passwords as secrets to mask', () => {
    const s = resolveSettings(
      {},
      { DATABASE_URL: 'postgres://u:p%40ss@db/x', COINCAP_API_KEY: 'key-123', PGPASSWORD: 'pw-9' },
    )
    // In any order: each is masked wherever it appears.
    expect(s.secrets.sort()).toEqual(['key-123', 'p@ss', 'pw-9'])
  })

  it('rejects a malformed database URL with exit 78, naming the setting and not the password', () => {
    const attempt = () => resolveSettings({ 'database-url': 'mysql://u:hunter22@db/x' }, {})
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(/--database-url \/ DATABASE_URL/)
    try {
      attempt()
    } catch (error) {
      expect((error as ConfigError).exitCode).toBe(78)
      expect((error as Error).message).not.toContain('hunter22')
    }
  })

  it.each([
    [{ schema: 'Bad-Name' }, {}, /--schema \/ CRYPTO_ETL_SCHEMA/],
    [{ 'api-url': 'ftp://x' }, {}, /--api-url \/ COINCAP_API_URL/],
    [{}, { PGHOST: 'db', PGPORT: 'abc' }, /PGPORT/],
    [{}, { CRYPTO_ETL_LOG_FORMAT: 'xml' }, /--log-format \/ CRYPTO_ETL_LOG_FORMAT/],
  ])('rejects invalid setting %o %o with exit 78', (flags, env, pattern) => {
    expect(() => resolveSettings(flags, env)).toThrow(pattern)
  })

  it('rejects a missing named settings file with exit 78, naming the file and what named it', () => {
    expect(() => resolveSettings({ 'env-file': '/nonexistent/crypto-etl.env' }, {})).toThrow(
      'Cannot read the settings file /nonexistent/crypto-etl.env (named by --env-file): no such file.',
    )
    expect(() => resolveSettings({}, { CRYPTO_ETL_ENV_FILE: '/nonexistent/b.env' })).toThrow(
      'Cannot read the settings file /nonexistent/b.env (named by CRYPTO_ETL_ENV_FILE): no such file.',
    )
    const folder = mkdtempSync(join(tmpdir(), 'crypto-etl-env-'))
    expect(() => resolveSettings({}, { CRYPTO_ETL_ENV_FILE: folder })).toThrow(
      `Cannot read the settings file ${folder} (named by CRYPTO_ETL_ENV_FILE): it is a folder.`,
    )
  })

  it('reads ~/.config/crypto-etl/env, or the one under XDG_CONFIG_HOME, when it exists', () => {
    const home = mkdtempSync(join(tmpdir(), 'crypto-etl-home-'))
    const path = join(home, '.config', 'crypto-etl', 'env')
    expect(resolveSettings({}, { HOME: home }).settingsFile).toEqual({ path, read: false })
    mkdirSync(join(home, '.config', 'crypto-etl'), { recursive: true })
    writeFileSync(join(home, '.config', 'crypto-etl', 'env'), 'DATABASE_URL=postgres://etl@db:5432/market\n')
    const s = resolveSettings({}, { HOME: home })
    expect(s.database).toEqual({ kind: 'url', url: 'postgres://etl@db:5432/market' })
    expect(s.settingsFile).toEqual({ path, read: true })
    const xdg = join(home, 'xdg')
    mkdirSync(join(xdg, 'crypto-etl'), { recursive: true })
    writeFileSync(join(xdg, 'crypto-etl', 'env'), 'CRYPTO_ETL_SCHEMA=from_xdg\n')
    const x = resolveSettings({}, { HOME: home, XDG_CONFIG_HOME: xdg })
    expect([x.schema, x.database.kind]).toEqual(['from_xdg', 'embedded'])
  })

  it('reads the file named by --env-file, else CRYPTO_ETL_ENV_FILE, instead of the default one', () => {
    const home = mkdtempSync(join(tmpdir(), 'crypto-etl-home-'))
    mkdirSync(join(home, '.config', 'crypto-etl'), { recursive: true })
    writeFileSync(join(home, '.config', 'crypto-etl', 'env'), 'CRYPTO_ETL_SCHEMA=from_default\nCOINCAP_API_KEY=k0\n')
    const named = envFile('CRYPTO_ETL_SCHEMA=from_variable\n')
    const flagged = envFile('CRYPTO_ETL_SCHEMA=from_flag_file\n')
    const byVariable = resolveSettings({}, { HOME: home, CRYPTO_ETL_ENV_FILE: named })
    expect([byVariable.schema, byVariable.apiKey]).toEqual(['from_variable', undefined])
    const byFlag = resolveSettings({ 'env-file': flagged }, { HOME: home, CRYPTO_ETL_ENV_FILE: named })
    expect(byFlag.schema).toBe('from_flag_file')
    expect(resolveSettings({}, { HOME: home, CRYPTO_ETL_SCHEMA: 'from_env' }).schema).toBe('from_env')
  })

  it('follows libpq: PGUSER or PGDATABASE without PGHOST mean a server on the default Unix socket', () => {
    for (const env of [{ PGUSER: 'etl' }, { PGDATABASE: 'market' }, { PGUSER: 'etl', PGPORT: '6543' }]) {
      const db = resolveSettings({}, env).database
      expect(db.kind, JSON.stringify(env)).toBe('libpq')
      if (db.kind !== 'libpq') continue
      expect(['/var/run/postgresql', '/tmp']).toContain(db.host)
      expect([db.user, db.database, db.port]).toEqual([env.PGUSER, env.PGDATABASE, env.PGPORT && Number(env.PGPORT)])
    }
    expect(resolveSettings({}, { PGPASSWORD: 'x' }).database.kind).toBe('embedded')
  })

  it('turns on verbose output from DEBUG or --verbose', () => {
    expect(resolveSettings({}, { DEBUG: '1' }).verbose).toBe(true)
    expect(resolveSettings({ verbose: true }, {}).verbose).toBe(true)
    expect(resolveSettings({ verbose: false }, {}).verbose).toBe(false)
    expect(resolveSettings({}, {}).verbose).toBe(false)
  })

  it('says which source gave each variable a value: flags, the environment, the settings file', () => {
    const file = envFile('CRYPTO_ETL_SCHEMA=from_file\nCOINCAP_API_KEY=file-key\nXDG_DATA_HOME=/d\n')
    const s = resolveSettings(
      { 'env-file': file, schema: 'from_flag', 'api-url': 'http://flag.example/v3', verbose: true },
      { CRYPTO_ETL_SCHEMA: 'from_env', CRYPTO_ETL_LOG_FORMAT: 'json', HOME: '/h', PATH: '/bin' },
    )
    expect(s.sources).toEqual({
      flag: ['CRYPTO_ETL_SCHEMA', 'COINCAP_API_URL', 'DEBUG'],
      environment: ['CRYPTO_ETL_SCHEMA', 'CRYPTO_ETL_LOG_FORMAT'],
      file: ['CRYPTO_ETL_SCHEMA', 'COINCAP_API_KEY', 'XDG_DATA_HOME'],
    })
    expect(s.dataDir).toBe('/d/crypto-etl')
    expect(s.dirs).toEqual({ home: '/h', config: '/h/.config', data: '/h/.local/share', state: '/h/.local/state' })
  })
})
