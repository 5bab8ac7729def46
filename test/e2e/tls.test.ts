/**
 * TLS as libpq does it, against a local cluster with `ssl = on` that accepts only TLS (see
 * test/helpers/tls-cluster.ts): sslmode require/verify-ca/verify-full, root and client certificates from
 * the URL or the PGSSL* variables, libpq's client parameters kept from the server, and the hints.
 */
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toEtlError } from '../../src/warehouse/connection/database-errors.js'
import { resolveSettings } from '../../src/config/settings.js'
import { connectWarehouse } from '../../src/warehouse/connection/connect.js'
import { startFixtureServer } from '../../src/demo/server.js'
import { runCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { withWarehouse } from '../helpers/inspect.js'
import { startTlsCluster, type TlsCluster } from '../helpers/tls-cluster.js'

const PORT = 5450
let cluster: TlsCluster

beforeAll(async () => {
  cluster = await startTlsCluster(PORT)
})
afterAll(() => cluster?.stop())

function url(host: string, params: Record<string, string> = {}, user = 'postgres'): string {
  const query = new URLSearchParams(params).toString()
  return `postgres://${user}@${host}:${PORT}/postgres${query ? `?${query}` : ''}`
}

/** Connects as the CLI would and says who it is and whether the session is encrypted. */
function session(env: Record<string, string>): Promise<{ user: string; ssl: boolean; app: string }> {
  return withWarehouse(env, async (warehouse) => {
    const [row] = await warehouse.sql<{ user: string; ssl: boolean; app: string }[]>`
      select current_user as user, s.ssl, current_setting('application_name') as app
      from pg_stat_ssl s where s.pid = pg_backend_pid()`
    return row!
  })
}

/** The exit code, message and hint a failed connection ends with. */
async function refusal(env: Record<string, string>): Promise<{ exitCode: number; message: string; hint?: string }> {
  const settings = resolveSettings({}, env)
  try {
    const warehouse = await connectWarehouse(settings)
    await warehouse.close()
  } catch (error) {
    const etl = toEtlError(error)
    return { exitCode: etl.exitCode, message: etl.message, hint: etl.hint }
  }
  throw new Error('connected, but a refusal was expected')
}

const CERT_HINT =
  "The server's certificate was refused: name its CA with sslrootcert=<file> (or PGSSLROOTCERT) and connect to a host name the certificate lists."

describe('sslmode require', () => {
  it('encrypts without verifying the server when no root certificate is given', async () => {
    expect(await session({ DATABASE_URL: url('127.0.0.1', { sslmode: 'require' }) })).toMatchObject({ ssl: true })
  })

  it('verifies the chain, as libpq, when a root certificate is given: the right CA connects, another is refused', async () => {
    const ok = await session({ DATABASE_URL: url('127.0.0.1', { sslmode: 'require', sslrootcert: cluster.files.ca }) })
    expect(ok).toMatchObject({ ssl: true, user: 'postgres' })
    const wrong = await refusal({
      DATABASE_URL: url('127.0.0.1', { sslmode: 'require', sslrootcert: cluster.files.otherCa }),
    })
    expect(wrong.exitCode).toBe(74)
    expect(wrong.message).toMatch(/^Cannot reach the database at 127\.0\.0\.1:5450\/postgres: .*certificate/)
    expect(wrong.hint).toBe(CERT_HINT)
  })

  it('refuses a server that does not offer TLS instead of falling back to plaintext', async () => {
    const plain = new URL(TEST_DATABASE_URL)
    plain.searchParams.set('sslmode', 'require')
    const refused = await refusal({ DATABASE_URL: plain.toString() })
    expect(refused.exitCode).toBe(74)
    expect(refused.message).toBe(
      `Cannot reach the database at ${plain.hostname}:${plain.port || 5432}${plain.pathname}: ${plain.hostname}:${plain.port || 5432} does not accept TLS, which sslmode asks for (NO_TLS).`,
    )
    expect(refused.hint).toBe('Turn on ssl on the server, or lower sslmode (prefer tries TLS and falls back).')
  })
})

/** A server whose certificate another CA signed is refused under `sslmode`, with the hint about certificates. */
async function expectOtherCaRefused(sslmode: 'verify-ca' | 'verify-full') {
  const wrong = await refusal({ DATABASE_URL: url('localhost', { sslmode, sslrootcert: cluster.files.otherCa }) })
  expect(wrong.exitCode).toBe(74)
  expect(wrong.hint).toBe(CERT_HINT)
}

describe('sslmode verify-ca', () => {
  it('checks the chain only: a certificate for localhost is accepted on 127.0.0.1', async () => {
    await cluster.serveCertificateFor('localhost')
    const ok = await session({
      DATABASE_URL: url('127.0.0.1', { sslmode: 'verify-ca', sslrootcert: cluster.files.ca }),
    })
    expect(ok.ssl).toBe(true)
  })

  it('refuses a server whose certificate another CA signed', async () => {
    await expectOtherCaRefused('verify-ca')
  })
})

describe('sslmode verify-full checks the host actually named', () => {
  it.each([
    [
      'by name: a certificate for localhost',
      'localhost',
      '127.0.0.1',
      /: Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list: +\(ERR_TLS_CERT_ALTNAME_INVALID\)\.$/,
    ],
    [
      'by IP address: a certificate for 127.0.0.1',
      '127.0.0.1',
      'localhost',
      /: Hostname\/IP does not match certificate's altnames: Host: localhost\. is not cert's CN: 127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID\)\.$/,
    ],
  ] as const)('%s is accepted for that host and refused for the other', async (_, named, other, said) => {
    await cluster.serveCertificateFor(named)
    const params = { sslmode: 'verify-full', sslrootcert: cluster.files.ca }
    expect(await session({ DATABASE_URL: url(named, params) })).toMatchObject({ ssl: true })
    const wrong = await refusal({ DATABASE_URL: url(other, params) })
    expect(wrong.exitCode).toBe(74)
    expect(wrong.message).toMatch(said)
    expect(wrong.hint).toBe(CERT_HINT)
    // The other tests expect the certificate for localhost.
    await cluster.serveCertificateFor('localhost')
  })

  it('refuses a server whose certificate another CA signed, even for the right name', async () => {
    await expectOtherCaRefused('verify-full')
  })
})

describe('PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY', () => {
  it('apply to a URL given without those parameters', async () => {
    await cluster.serveCertificateFor('localhost')
    const env = { DATABASE_URL: url('localhost'), PGSSLMODE: 'verify-full', PGSSLROOTCERT: cluster.files.ca }
    expect(await session(env)).toMatchObject({ ssl: true })
    const wrongCa = await refusal({ ...env, PGSSLROOTCERT: cluster.files.otherCa })
    expect(wrongCa.hint).toBe(CERT_HINT)
  })

  it("yield to the URL's own parameters, one by one", async () => {
    const env = {
      DATABASE_URL: url('localhost', { sslrootcert: cluster.files.ca }),
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: cluster.files.otherCa,
    }
    expect(await session(env)).toMatchObject({ ssl: true })
    const disabled = await refusal({ ...env, DATABASE_URL: url('localhost', { sslmode: 'disable' }) })
    expect(disabled.hint).toMatch(/^The server accepts only TLS connections/)
  })

  it('also apply with PGHOST instead of a URL', async () => {
    const env = { PGHOST: '127.0.0.1', PGPORT: String(PORT), PGUSER: 'postgres', PGDATABASE: 'postgres' }
    expect(await session({ ...env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: cluster.files.ca })).toMatchObject({
      ssl: true,
    })
    const wrong = await refusal({ ...env, PGSSLMODE: 'verify-ca', PGSSLROOTCERT: cluster.files.otherCa })
    expect(wrong.hint).toBe(CERT_HINT)
  })
})

describe('client certificates (pg_hba cert)', () => {
  it('logs in with sslcert/sslkey from the URL', async () => {
    const params = { sslmode: 'verify-full', sslrootcert: cluster.files.ca }
    const withCert = { ...params, sslcert: cluster.files.clientCert, sslkey: cluster.files.clientKey }
    expect(await session({ DATABASE_URL: url('localhost', withCert, 'certuser') })).toMatchObject({
      user: 'certuser',
      ssl: true,
    })
    const without = await refusal({ DATABASE_URL: url('localhost', params, 'certuser') })
    expect(without.exitCode).toBe(74)
    expect(without.message).toMatch(/connection requires a valid client certificate \(28000\)\.$/)
  })

  it('logs in with PGSSLCERT/PGSSLKEY, with sslmode require', async () => {
    const env = {
      DATABASE_URL: url('127.0.0.1', { sslmode: 'require' }, 'certuser'),
      PGSSLCERT: cluster.files.clientCert,
      PGSSLKEY: cluster.files.clientKey,
    }
    expect(await session(env)).toMatchObject({ user: 'certuser', ssl: true })
  })

  it('exits 78 naming a certificate file that cannot be read', async () => {
    const missing = await refusal({
      DATABASE_URL: url('localhost', { sslmode: 'require', sslcert: '/nonexistent/client.crt' }),
    })
    expect(missing).toEqual({
      exitCode: 78,
      message: 'Cannot read sslcert /nonexistent/client.crt: ENOENT.',
      hint: 'Point sslcert at a readable PEM file.',
    })
  })
})

describe('a server that accepts only TLS', () => {
  it('is reached with the default sslmode (prefer, as libpq)', async () => {
    expect(await session({ DATABASE_URL: url('127.0.0.1') })).toMatchObject({ ssl: true })
  })

  it('with sslmode=disable: exit 74 and a hint to add sslmode=require, without the password', async () => {
    const result = await runCli(['migrate'], {
      env: { DATABASE_URL: `postgres://postgres:pw-never-shown@127.0.0.1:${PORT}/postgres?sslmode=disable` },
    })
    expect(result.code).toBe(74)
    expect(result.stderr.split('\n')).toEqual([
      'Error: Cannot reach the database at 127.0.0.1:5450/postgres: no pg_hba.conf entry for host "127.0.0.1", user "postgres", database "postgres", no encryption (28000).',
      'The server accepts only TLS connections: add sslmode=require to the URL (or set PGSSLMODE=require).',
      '',
    ])
    expect(result.stderr + result.stdout).not.toContain('pw-never-shown')
  })
})

describe("libpq's client parameters", () => {
  it('never reach the server as settings; application_name is honoured', async () => {
    const params = {
      sslmode: 'verify-full',
      sslrootcert: cluster.files.ca,
      sslcrl: '',
      sslsni: '1',
      sslcompression: '0',
      connect_timeout: '5',
      keepalives: '1',
      keepalives_idle: '30',
      target_session_attrs: 'any',
      application_name: 'etl-nightly',
      channel_binding: 'prefer',
      gssencmode: 'disable',
    }
    expect(await session({ DATABASE_URL: url('localhost', params) })).toEqual({
      user: 'postgres',
      ssl: true,
      app: 'etl-nightly',
    })
  })

  it('connect_timeout is honoured: a peer that never answers is given up on after it, not after the default 5 s', async () => {
    const sockets = new Set<Socket>()
    const peer = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve))
    const { port } = peer.address() as AddressInfo
    try {
      const started = performance.now()
      const refused = await refusal({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/x?connect_timeout=2` })
      const seconds = (performance.now() - started) / 1000
      expect(refused.exitCode).toBe(74)
      expect(refused.message).toMatch(/no answer from 127\.0\.0\.1:\d+ in time \(CONNECT_TIMEOUT\)\.$/)
      expect(seconds).toBeGreaterThanOrEqual(1.9)
      expect(seconds).toBeLessThan(4.5)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => peer.close(resolve))
    }
  })

  it('with a key passphrase in the URL: the passphrase never shows in a message', async () => {
    const result = await runCli(['migrate'], {
      env: {
        DATABASE_URL: url('localhost', {
          sslmode: 'verify-full',
          sslrootcert: cluster.files.otherCa,
          sslpassword: 'key-pass-never-shown',
        }),
      },
    })
    expect(result.code).toBe(74)
    expect(result.stderr.split('\n')[1]).toBe(CERT_HINT)
    expect(result.stderr + result.stdout).not.toContain('key-pass-never-shown')
  })
})

describe('every command over verify-full', () => {
  it('migrate, run, query latest, status and prune --run work over TLS with a client certificate', async () => {
    await cluster.serveCertificateFor('localhost')
    const api = await startFixtureServer()
    const env = {
      COINCAP_API_URL: api.url,
      COINCAP_API_KEY: 'tls-test-key-3391',
      DATABASE_URL: url('localhost', {
        sslmode: 'verify-full',
        sslrootcert: cluster.files.ca,
        sslcert: cluster.files.clientCert,
        sslkey: cluster.files.clientKey,
      }),
      CRYPTO_ETL_SCHEMA: 'tls_commands',
    }
    for (const args of [
      ['migrate'],
      ['run'],
      ['query', 'latest', '--limit', '3'],
      ['status'],
      ['prune', '--run', '1'],
    ]) {
      const result = await runCli(args, { env })
      expect({ args, code: result.code, stderr: result.stderr }).toMatchObject({ args, code: 0 })
    }
    await api.close()
    const latest = await runCli(['query', 'latest', '--json'], { env })
    expect(JSON.parse(latest.stdout)).toMatchObject({ report: 'latest', rows: [] })
  })
})
