/**
 * A pgbouncer in front of the test server, started by a test's setup: a config in a temporary folder,
 * trust auth with a user list, the pool mode asked for, on the first free port of 6432-6439. Its
 * defaults are kept (no `ignore_startup_parameters`, no prepared-statement tracking), as a user's
 * pooler would have them.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { TEST_DATABASE_URL } from './env.js'

export type PoolMode = 'session' | 'transaction'

export interface Pgbouncer {
  /** The test database through the pooler: TEST_DATABASE_URL with the pooler's port. */
  url: string
  port: number
  mode: PoolMode
  stop(): Promise<void>
}

const PORTS = [6432, 6433, 6434, 6435, 6436, 6437, 6438, 6439]

/** The pgbouncer binary, or an error saying how to install it. */
function pgbouncerBinary(): string {
  for (const path of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer']) {
    if (existsSync(path)) return path
  }
  try {
    return execFileSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error('The pooler tests need pgbouncer: install it (Debian: apt-get install -y pgbouncer; .ci/run does).')
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

/** Waits until `url` answers a query, or the process ends, or 10 s pass. */
async function waitReady(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const started = Date.now()
  while (Date.now() - started < 10_000) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${log().trim()}`)
    const sql = postgres(url, { max: 1, connect_timeout: 2, prepare: false, onnotice: () => {} })
    try {
      await sql`select 1`
      return
    } catch {
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      await sql.end({ timeout: 0 })
    }
  }
  throw new Error(`pgbouncer did not answer within 10 s: ${log().trim()}`)
}

/** Starts a pgbouncer in `mode` in front of the test server; `stop()` ends it and removes its folder. */
export async function startPgbouncer(mode: PoolMode, options: { poolSize?: number } = {}): Promise<Pgbouncer> {
  const binary = pgbouncerBinary()
  const upstream = new URL(TEST_DATABASE_URL)
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-pgbouncer-'))
  await chmod(dir, 0o755)
  await writeFile(join(dir, 'users.txt'), '"postgres" ""\n"root" ""\n')
  for (const port of PORTS) {
    if (!(await portIsFree(port))) continue
    const config = join(dir, `pgbouncer-${port}.ini`)
    await writeFile(
      config,
      [
        '[databases]',
        `* = host=${upstream.hostname} port=${upstream.port || 5432}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'users.txt')}`,
        `pool_mode = ${mode}`,
        // Few server connections, so that clients share backends as they would on a busy pooler.
        `default_pool_size = ${options.poolSize ?? 2}`,
        'max_client_conn = 200',
        '',
      ].join('\n'),
    )
    // pgbouncer refuses to run as root: it switches to the postgres user then.
    const asRoot = process.getuid?.() === 0
    const child = spawn(binary, [...(asRoot ? ['-u', 'postgres'] : []), config], { stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
    const url = new URL(TEST_DATABASE_URL)
    url.port = String(port)
    try {
      await waitReady(url.toString(), child, () => output)
    } catch (error) {
      child.kill('SIGKILL')
      // Another process took the port between the probe and the start: try the next one.
      if (/Address already in use/.test(output)) continue
      await rm(dir, { recursive: true, force: true })
      throw error
    }
    return {
      url: url.toString(),
      port,
      mode,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve))
          child.kill('SIGINT')
          await exited
        }
        await rm(dir, { recursive: true, force: true })
      },
    }
  }
  await rm(dir, { recursive: true, force: true })
  throw new Error(`No free port for pgbouncer among ${PORTS.join(', ')}.`)
}
