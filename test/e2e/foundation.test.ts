import { readFileSync } from 'node:fs'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { startEmbedded } from '../../src/warehouse/embedded/embedded.js'
import { runCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { Scratch } from '../helpers/scratch.js'
import { WAREHOUSE_TABLES } from '../helpers/warehouse.js'

const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

describe('the CLI foundation', () => {
  it('prints its version', async () => {
    const r = await runCli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`crypto-etl/${version}`)
  })

  it('creates the warehouse in the embedded data directory, and a second migrate is a no-op', async () => {
    const dir = await scratch.embeddedDir()
    const first = await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: dir } })
    expect(first.stderr).toBe(`Warehouse: embedded: ${dir} schema coincap\n`)
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^applied 00001_warehouse$/m)
    const second = await runCli(['migrate', '--json'], { env: { CRYPTO_ETL_DATA_DIR: dir } })
    expect(second.code).toBe(0)
    expect(JSON.parse(second.stdout)).toMatchObject({ schema: 'coincap', applied: [], database: 'embedded' })
  })

  it('creates the warehouse on a server in the schema given by --schema', async () => {
    const schema = scratch.schema('cli_migrate')
    const r = await runCli(['migrate', '--database-url', TEST_DATABASE_URL, '--schema', schema])
    expect(r.code).toBe(0)
    const sql = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} })
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables where table_schema = ${schema} and table_type = 'BASE TABLE' order by 1`
    await sql.end()
    // The warehouse's tables, no partitions yet.
    expect(tables.map((t) => t.name)).toEqual(WAREHOUSE_TABLES)
  })

  it('exits 78 on a malformed database URL without showing the password', async () => {
    const r = await runCli(['migrate', '--database-url', 'postgres//etl:hunter22@db/x'])
    expect(r.code).toBe(78)
    expect(r.stderr).toMatch(/^Error: Invalid setting --database-url \/ DATABASE_URL/)
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2)
    expect(r.stdout + r.stderr).not.toContain('hunter22')
  })

  it('exits 74 within seconds when the server is unreachable, without showing the password', async () => {
    const r = await runCli(['migrate'], { env: { DATABASE_URL: 'postgres://etl:hunter22@127.0.0.1:1/x' } })
    expect(r.code).toBe(74)
    expect(r.ms).toBeLessThan(10_000)
    expect(r.stderr).toMatch(/Cannot reach the database at 127\.0\.0\.1:1\/x/)
    expect(r.stdout + r.stderr).not.toContain('hunter22')
  })

  it.each([
    [
      'an HTTP server answers',
      (socket: Socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')),
      /is not a Postgres server: it answered "HTTP\/1\.1 400 Bad Request" \(NOT_POSTGRES\)/,
      3_000,
    ],
    ['the peer hangs up at once', (socket: Socket) => socket.end(), /closed the connection without answering/, 3_000],
    ['the peer never answers', () => {}, /no answer from 127\.0\.0\.1:\d+ in time \(CONNECT_TIMEOUT\)/, 10_000],
  ])(
    'exits 74 within seconds when something other than Postgres listens on the port: %s',
    async (_, serve, message, ms) => {
      // postgres.js reconnects without end to a peer that is not Postgres; the CLI must not.
      const sockets = new Set<Socket>()
      const peer = createServer((socket) => {
        sockets.add(socket)
        serve(socket)
      })
      await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve))
      const { port } = peer.address() as AddressInfo
      try {
        const r = await runCli(['migrate'], { env: { DATABASE_URL: `postgres://etl:hunter22@127.0.0.1:${port}/x` } })
        expect(r.code).toBe(74)
        expect(r.ms).toBeLessThan(ms)
        expect(r.stderr).toMatch(message)
        expect(r.stderr.trim().split('\n')).toHaveLength(2)
        expect(r.stdout + r.stderr).not.toContain('hunter22')
        // A peer that answers is tried twice at most: no reconnect storm.
        if (ms === 3_000) expect(sockets.size).toBeLessThanOrEqual(2)
      } finally {
        for (const socket of sockets) socket.destroy()
        await new Promise((resolve) => peer.close(resolve))
      }
    },
  )

  it('exits 74 with a clear message while another process holds the embedded data directory', async () => {
    const dir = await scratch.embeddedDir()
    const holder = await startEmbedded(dir)
    try {
      const r = await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: dir } })
      expect(r.code).toBe(74)
      expect(r.stderr).toContain(`Another crypto-etl process is using the embedded database in ${dir}.`)
    } finally {
      await holder.stop()
    }
  })

  it('exits 2 with a one-line message on an unknown flag', async () => {
    const r = await runCli(['migrate', '--bogus'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/Unknown flag --bogus\./)
  })
})
