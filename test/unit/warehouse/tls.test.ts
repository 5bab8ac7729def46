import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../../src/core/errors.js'
import { splitLibpqUrl, sslOption } from '../../../src/warehouse/connection/tls.js'

describe('splitLibpqUrl', () => {
  it("takes libpq's client parameters out of the URL and keeps the server's and postgres.js's", () => {
    const { url, tls } = splitLibpqUrl(
      'postgres://u:p@db:5433/x?sslmode=verify-ca&sslrootcert=/ca.crt&sslcert=/c.crt&sslkey=/c.key&sslpassword=kp&sslcrl=/crl&keepalives=1&target_session_attrs=any&application_name=etl&connect_timeout=5&prepare=false&options=-c%20work_mem%3D64MB',
    )
    expect(url).toBe(
      'postgres://u:p@db:5433/x?application_name=etl&connect_timeout=5&prepare=false&options=-c+work_mem%3D64MB',
    )
    expect(tls).toEqual({
      sslmode: 'verify-ca',
      sslrootcert: '/ca.crt',
      sslcert: '/c.crt',
      sslkey: '/c.key',
      sslpassword: 'kp',
    })
  })

  it('refuses an unknown sslmode with exit 78', () => {
    expect(() => splitLibpqUrl('postgres://db/x?sslmode=on')).toThrow(ConfigError)
    expect(() => splitLibpqUrl('postgres://db/x?sslmode=on')).toThrow("Invalid sslmode 'on' in --database-url")
  })
})

describe('sslOption', () => {
  it("is libpq's prefer by default, off on a Unix socket and with disable", () => {
    expect(sslOption({}, 'db')).toBe('prefer')
    expect(sslOption({ sslmode: 'require' }, '/var/run/postgresql')).toBe(false)
    expect(sslOption({ sslmode: 'disable' }, 'db')).toBe(false)
    expect(sslOption({ sslmode: 'require' }, 'db')).toBe('require')
  })

  it('verifies with the system CAs and the host name for sslrootcert=system', () => {
    const option = sslOption({ sslrootcert: 'system' }, 'db.example.com')
    expect(option).toMatchObject({ rejectUnauthorized: true, servername: 'db.example.com' })
    expect(option).not.toHaveProperty('ca')
  })

  it('sends no SNI name for an IP address', () => {
    expect(sslOption({ sslmode: 'verify-full', sslrootcert: 'system' }, '10.0.0.5')).toMatchObject({
      servername: undefined,
    })
  })
})
