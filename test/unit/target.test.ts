import { describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/config/settings.js'
import { describeTarget } from '../../src/warehouse/connection/target.js'

const named = (env: Record<string, string>, home?: string) => describeTarget(resolveSettings({}, env), { home })

describe('describeTarget', () => {
  it('names a server URL with its user, host, port, database and schema, never its password or query', () => {
    const url = 'postgres://etl:s3cret%40pw@db:6543/market?sslmode=require&sslpassword=keypass'
    expect(named({ DATABASE_URL: url, CRYPTO_ETL_SCHEMA: 'coincap' })).toBe(
      'postgres://etl@db:6543/market schema coincap',
    )
    expect(named({ DATABASE_URL: 'postgresql://db.example/market' })).toBe(
      'postgres://db.example:5432/market schema coincap',
    )
  })

  it('names every host of a list, an IPv6 host in brackets, and a socket given by ?host=', () => {
    expect(named({ DATABASE_URL: 'postgres://etl@db1:5432,db2:5433/market' })).toBe(
      'postgres://etl@db1:5432,db2:5433/market schema coincap',
    )
    expect(named({ DATABASE_URL: 'postgres://etl@[::1]:5432/market' })).toBe(
      'postgres://etl@[::1]:5432/market schema coincap',
    )
    expect(named({ DATABASE_URL: 'postgres://etl@/market?host=/run/pg' })).toBe(
      'postgres://etl@/market?host=/run/pg&port=5432 schema coincap',
    )
  })

  it('names the libpq variables, over TCP or on a Unix socket as psql takes it', () => {
    expect(named({ PGHOST: 'db', PGUSER: 'etl', PGPASSWORD: 'pw-1', PGDATABASE: 'market' })).toBe(
      'postgres://etl@db:5432/market schema coincap',
    )
    expect(named({ PGHOST: '/run/pg', PGUSER: 'etl', PGPORT: '5433' })).toBe(
      'postgres://etl@/etl?host=/run/pg&port=5433 schema coincap',
    )
  })

  it('names the embedded data directory, with ~ for the home folder when asked', () => {
    const env = { CRYPTO_ETL_DATA_DIR: '/home/ann/.local/share/crypto-etl', CRYPTO_ETL_SCHEMA: 'market' }
    expect(named(env)).toBe('embedded: /home/ann/.local/share/crypto-etl schema market')
    expect(named(env, '/home/ann')).toBe('embedded: ~/.local/share/crypto-etl schema market')
    expect(named(env, '/home/an')).toBe('embedded: /home/ann/.local/share/crypto-etl schema market')
  })
})
