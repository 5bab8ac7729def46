import { describe, expect, it } from 'vitest'
import { parsePostgresUrl, PostgresUrlError } from '../../../src/config/postgres-url.js'

describe('parsePostgresUrl', () => {
  it('reads hosts as libpq does: IPv6 in brackets, lists, sockets, and the host and port parameters', () => {
    expect(parsePostgresUrl('postgres://u:p%40ss@[::1]:5433/db?application_name=x')).toEqual({
      hosts: ['::1'],
      ports: [5433],
      user: 'u',
      password: 'p@ss',
      database: 'db',
      params: { application_name: 'x' },
    })
    expect(parsePostgresUrl('postgresql://h1:5432,[fe80::1],h3:6000/db')).toMatchObject({
      hosts: ['h1', 'fe80::1', 'h3'],
      ports: [5432, 5432, 6000],
    })
    expect(parsePostgresUrl('postgres:///db?host=/var/run/postgresql&port=5433&user=etl')).toMatchObject({
      hosts: ['/var/run/postgresql'],
      ports: [5433],
      user: 'etl',
      database: 'db',
      params: {},
    })
    expect(parsePostgresUrl('postgres://%2Ftmp/db')).toMatchObject({ hosts: ['/tmp'], ports: [5432] })
    expect(parsePostgresUrl('postgres:///db')).toMatchObject({ hosts: [], ports: [5432], database: 'db' })
    expect(parsePostgresUrl('postgres://h/d?dbname=other&password=pw')).toMatchObject({
      database: 'other',
      password: 'pw',
    })
  })

  it.each([
    ['postgres://u:50%@h/db', 'holds a % that does not start a percent-encoded character (such as %40)'],
    ['postgres://u:a@b@h/db', 'has a user or password with characters that must be percent-encoded'],
    ['postgres://u:12/34@h/db', 'has a user or password with characters that must be percent-encoded'],
    ['postgres://u:a?b@h/db', 'has a user or password with characters that must be percent-encoded'],
    ['postgres://u:a#b@h/db', 'has a # (a URL fragment, or a # to percent-encode)'],
    ['postgres://h:99999/db', 'has a port that is not 1 to 65535'],
    ['mysql://h/db', 'must start with postgres:// or postgresql://'],
  ])('refuses %s without quoting it', (url, message) => {
    expect(() => parsePostgresUrl(url)).toThrow(new PostgresUrlError(message))
  })
})
