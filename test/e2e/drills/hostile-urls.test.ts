/**
 * Hosts, URLs and secrets: IPv6 hosts and Unix sockets reach the server as libpq would reach it; URLs a
 * parser would take apart wrongly are refused (78) before any connection, without quoting any part of
 * them; and no key or password is printed whatever DEBUG, NODE_DEBUG or --verbose say, nor when a URL is
 * given where an argument was expected.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { runCli } from '../../helpers/cli.js'
import {
  adminSql,
  cleanupDrills,
  DRILL_KEY,
  DRILL_NOW,
  expectCleanFailure,
  prepareTarget,
} from '../../helpers/drills.js'
import { schemaExists } from '../../helpers/inspect.js'

/** A TCP listener of this drill (ports 5480-5489): forwards to the test server, or only counts connections. */
interface Listener {
  connections: number
  close(): Promise<void>
}

async function listen(host: string, port: number, forwardTo?: { host: string; port: number }): Promise<Listener> {
  const sockets = new Set<net.Socket>()
  const listener: Listener = { connections: 0, close: async () => {} }
  const server = net.createServer((client) => {
    listener.connections++
    sockets.add(client)
    client.on('error', () => {}).on('close', () => sockets.delete(client))
    if (!forwardTo) return void client.destroy()
    const upstream = net.connect(forwardTo).on('error', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen({ host, port }, resolve))
  listener.close = () => {
    for (const s of sockets) s.destroy()
    return new Promise((resolve) => server.close(() => resolve()))
  }
  return listener
}

let api: FixtureServer
/** Only on ::1: a client that connects to 127.0.0.1 instead finds nothing there. */
let ipv6: Listener
/** Counts connection attempts that must never happen. */
let trap: Listener

beforeAll(async () => {
  api = await startFixtureServer({ now: () => DRILL_NOW })
  ipv6 = await listen('::1', 5480, { host: '127.0.0.1', port: 5432 })
  trap = await listen('127.0.0.1', 5481)
})
afterAll(async () => {
  await Promise.all([api.close(), ipv6.close(), trap.close()])
  await cleanupDrills()
})

describe('hosts as libpq takes them', () => {
  it.each([
    ['an IPv6 URL', { DATABASE_URL: 'postgres://postgres@[::1]:5480/test' }],
    ['an IPv6 URL written out in full', { DATABASE_URL: 'postgresql://postgres@[0:0:0:0:0:0:0:1]:5480/test' }],
    ['PGHOST=::1', { PGHOST: '::1', PGPORT: '5480', PGUSER: 'postgres', PGDATABASE: 'test' }],
  ])('%s connects to ::1 (nothing listens on 127.0.0.1:5480)', async (_, env) => {
    const t = await prepareTarget('server', 'ipv6')
    const before = ipv6.connections
    const r = await runCli(['migrate'], { env: { ...t.env, DATABASE_URL: undefined, ...env } })
    expect(r.code, r.stderr).toBe(0)
    expect(ipv6.connections).toBeGreaterThan(before)
    expect(await schemaExists(adminSql(), t.schema)).toBe(true)
  })

  it.each([
    ['?host= names a socket folder', { DATABASE_URL: 'postgres:///test?host=/var/run/postgresql&user=postgres' }],
    [
      'the socket folder percent-encoded as the host',
      { DATABASE_URL: 'postgres://postgres@%2Fvar%2Frun%2Fpostgresql/test' },
    ],
    ['no host: the default socket', { DATABASE_URL: 'postgresql:///test?user=postgres&port=5432' }],
    ['PGHOST names a socket folder', { PGHOST: '/var/run/postgresql', PGUSER: 'postgres', PGDATABASE: 'test' }],
  ])('%s: connects over the Unix socket', async (_, env) => {
    const t = await prepareTarget('server', 'socket')
    const r = await runCli(['migrate', '--json'], { env: { ...t.env, DATABASE_URL: undefined, ...env } })
    expect(r.code, r.stderr).toBe(0)
    expect(await schemaExists(adminSql(), t.schema)).toBe(true)
  })
})

const ENCODE =
  'Percent-encode these characters in the user name and password: @ as %40, / as %2F, : as %3A, ? as %3F, # as %23, % as %25 (e.g. with encodeURIComponent).'
const UNENCODED =
  'Error: Invalid setting --database-url / DATABASE_URL: has a user or password with characters that must be percent-encoded.'

describe('URLs that cannot be read as they stand', () => {
  it.each([
    [
      'postgres://etl:50%off@127.0.0.1:5481/test',
      ['50', 'off'],
      'Error: Invalid setting --database-url / DATABASE_URL: holds a % that does not start a percent-encoded character (such as %40).',
    ],
    ['postgres://etl:s3cr@t-Pa55@127.0.0.1:5481/test', ['s3cr', 't-Pa55'], UNENCODED],
    ['postgres://etl:1234/5678x@127.0.0.1:5481/test', ['1234', '5678x'], UNENCODED],
    ['postgres://etl:ab/cd@127.0.0.1:5481/test', ['ab/cd'], UNENCODED],
    ['postgres://etl:what?ever@127.0.0.1:5481/test', ['what', 'ever'], UNENCODED],
    [
      'postgres://etl:hash#tag@127.0.0.1:5481/test',
      ['hash', 'tag'],
      'Error: Invalid setting --database-url / DATABASE_URL: has a # (a URL fragment, or a # to percent-encode).',
    ],
  ])(
    '%s exits 78 saying how to encode it, before any connection, printing no part of the password',
    async (url, fragments, line) => {
      const t = await prepareTarget('server', 'bad_url', api.url)
      const before = trap.connections
      for (const env of [{ DATABASE_URL: url }, {}]) {
        const args = Object.keys(env).length ? ['status'] : ['status', '--database-url', url]
        const r = await runCli(args, { env: { ...t.env, ...env } })
        expect(expectCleanFailure(r, 78)).toEqual([line, ENCODE])
        for (const fragment of fragments) expect(r.stdout + r.stderr).not.toContain(fragment)
      }
      expect(trap.connections).toBe(before)
    },
  )
})

describe('URL parameters the server refuses', () => {
  it.each([
    ['foo=bar', 'unrecognized configuration parameter "foo"'],
    ['statement_timeout=abc', 'invalid value for parameter "statement_timeout": "abc"'],
    ['work_mem=-5', 'is outside the valid range for parameter "work_mem"'],
  ])('?%s is a setting error (78) naming the parameter, not "cannot reach"', async (param, said) => {
    const t = await prepareTarget('server', 'url_param', api.url)
    for (const command of ['status', 'run']) {
      const r = await runCli([command, '--datasets', 'rates'].slice(0, command === 'run' ? 3 : 1), {
        env: { ...t.env, DATABASE_URL: `${t.env.DATABASE_URL}&${param}` },
      })
      const [line, hint] = expectCleanFailure(r, 78)
      expect(line).toMatch(/^Error: Invalid setting --database-url \/ DATABASE_URL: the server refused it: /)
      expect(line).toContain(said)
      expect(hint).toBe('Remove or correct that parameter in the URL.')
    }
  })
})

/** A password with no character to encode, so only its one plain form can appear. */
const PASSWORD = 'Drill-pw-N8vq2Lx0'

describe('no secret in any output, whatever DEBUG says', () => {
  it.each([
    ['DEBUG=*', { DEBUG: '*' }],
    ['DEBUG=oclif*', { DEBUG: 'oclif*' }],
    ['DEBUG=postgres*', { DEBUG: 'postgres*' }],
    ['NODE_DEBUG=http,net,tls,fs', { NODE_DEBUG: 'http,net,tls,fs' }],
  ])('%s with --api-key and --database-url as flags prints neither', async (_, debugEnv) => {
    const t = await prepareTarget('server', 'debug', api.url)
    const url = `postgres://postgres:${PASSWORD}@127.0.0.1:5432/test?application_name=${t.appName}`
    const env = { ...t.env, ...debugEnv, DATABASE_URL: undefined, COINCAP_API_KEY: undefined }
    const flags = ['--api-key', DRILL_KEY, '--database-url', url]
    const ok = await runCli(['run', '--datasets', 'rates', ...flags], { env })
    expect(ok.code, ok.stderr).toBe(0)
    const down = await runCli(['status', '--api-key', DRILL_KEY, '--database-url', url.replace(':5432', ':5481')], {
      env,
    })
    expect(down.code).toBe(74)
    for (const out of [ok.stdout, ok.stderr, down.stdout, down.stderr]) {
      expect(out).not.toContain(DRILL_KEY)
      expect(out).not.toContain(PASSWORD)
    }
  })

  it.each([
    [['query', 'runs', `postgres://etl:${PASSWORD}@127.0.0.1:5481/test`]],
    [['status', '--verbose', `postgresql://etl:${PASSWORD}@127.0.0.1:5481/test`]],
    [['migrate', '--json', `postgres://etl:pa@ss/${PASSWORD}@127.0.0.1:5481/test`]],
    // Right after the command name oclif reads the URL as part of a command (`status:postgres://…`).
    [['status', `postgres://etl:${PASSWORD}@127.0.0.1:5481/test`]],
    [['run', `postgresql://etl:${PASSWORD}@127.0.0.1:5481/test`]],
    [['prune', `postgres://etl:pa@ss/${PASSWORD}@127.0.0.1:5481/test`]],
  ])('a URL given as an argument, %j, is refused (2) without its password', async (args) => {
    const r = await runCli(args, { env: { DEBUG: '*' } })
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).toContain('postgres')
    expect(r.stdout + r.stderr).not.toContain(PASSWORD)
    expect(r.stdout + r.stderr).not.toContain('pa@ss')
  })

  it('a key typed where a command was expected is not echoed', async () => {
    const r = await runCli([DRILL_KEY], { env: { COINCAP_API_KEY: DRILL_KEY } })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('Error: Unknown command ***.\n')
  })
})
