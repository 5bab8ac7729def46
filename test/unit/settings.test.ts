import { mkdtempSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/config/settings.js'
import { ConfigError } from '../../src/errors.js'

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
    expect(s.secrets).toEqual(['key-123', 'p@ss', 'pw-9'])
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

  it('rejects an unreadable env file with exit 78', () => {
    expect(() => resolveSettings({ 'env-file': '/nonexistent/crypto-etl.env' }, {})).toThrow(
      /Cannot read --env-file \/nonexistent\/crypto-etl.env: ENOENT/,
    )
  })

  it('turns on verbose output from DEBUG', () => {
    expect(resolveSettings({}, { DEBUG: '1' }).verbose).toBe(true)
    expect(resolveSettings({}, {}).verbose).toBe(false)
  })
})
