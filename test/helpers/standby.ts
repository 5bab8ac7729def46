/**
 * A primary and a streaming hot standby made from the machine's PostgreSQL binaries (initdb,
 * pg_basebackup -R, pg_ctl), on loopback ports of their own, for tests that read from a replica. They
 * live in one folder under the temporary directory, removed by `stop()`; a folder left by a killed test
 * run is stopped and removed first. As root (the CI container) the servers run as the postgres user.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { appendFile, mkdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'

export interface StandbyPair {
  /** Connects as the superuser `postgres` to database `postgres` of each server. */
  primaryUrl: string
  standbyUrl: string
  /** Resolves once the standby has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>
  stop(): Promise<void>
}

/** The primary's port; the standby takes the next one. */
const PRIMARY_PORT = Number(process.env.CRYPTO_ETL_TEST_STANDBY_PORT || 5470)
const FOLDER = join(tmpdir(), 'readside-standby')

/** The newest PostgreSQL major's binaries (Debian's layout), or CRYPTO_ETL_TEST_PG_BIN. */
function binDir(): string {
  if (process.env.CRYPTO_ETL_TEST_PG_BIN) return process.env.CRYPTO_ETL_TEST_PG_BIN
  const root = '/usr/lib/postgresql'
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  const newest = majors.sort((a, b) => Number(a) - Number(b)).at(-1)
  if (!newest) throw new Error(`No PostgreSQL binaries in ${root}: install postgresql or set CRYPTO_ETL_TEST_PG_BIN.`)
  return join(root, newest, 'bin')
}

const isRoot = () => process.getuid?.() === 0

/** Runs a PostgreSQL program, as the postgres user when this process is root (initdb refuses root). */
function pg(program: string, args: string[]): void {
  const path = join(binDir(), program)
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args]
  execFileSync(cmd, argv, { stdio: 'pipe', timeout: 60_000 })
}

/** Stops the servers of a folder left behind by an earlier run, and removes it. */
async function clearFolder(): Promise<void> {
  for (const dir of ['primary', 'standby']) {
    if (!existsSync(join(FOLDER, dir, 'postmaster.pid'))) continue
    try {
      pg('pg_ctl', ['-D', join(FOLDER, dir), '-m', 'immediate', '-w', 'stop'])
    } catch {
      // Not running any more.
    }
  }
  await rm(FOLDER, { recursive: true, force: true })
}

const settings = (port: number) => `
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = '${FOLDER}'
fsync = off
synchronous_commit = off
shared_buffers = 16MB
max_connections = 30
`

/** Starts the primary, clones it with pg_basebackup -R and starts the clone as its streaming standby. */
export async function startStandbyPair(): Promise<StandbyPair> {
  await clearFolder()
  await mkdir(FOLDER, { mode: 0o700 })
  if (isRoot()) execFileSync('chown', ['postgres:', FOLDER])
  const primary = join(FOLDER, 'primary')
  const standby = join(FOLDER, 'standby')
  const standbyPort = PRIMARY_PORT + 1
  pg('initdb', ['-D', primary, '-U', 'postgres', '-A', 'trust', '--no-sync'])
  await appendFile(join(primary, 'postgresql.conf'), settings(PRIMARY_PORT))
  pg('pg_ctl', ['-D', primary, '-l', join(FOLDER, 'primary.log'), '-w', 'start'])
  const host = ['-h', '127.0.0.1', '-U', 'postgres']
  pg('pg_basebackup', [...host, '-p', String(PRIMARY_PORT), '-D', standby, '-R', '-X', 'stream', '-c', 'fast', '-N'])
  // The clone carries the primary's settings; a later line wins.
  await appendFile(join(standby, 'postgresql.conf'), `port = ${standbyPort}\n`)
  pg('pg_ctl', ['-D', standby, '-l', join(FOLDER, 'standby.log'), '-w', 'start'])
  const primaryUrl = `postgres://postgres@127.0.0.1:${PRIMARY_PORT}/postgres`
  const standbyUrl = `postgres://postgres@127.0.0.1:${standbyPort}/postgres`
  return {
    primaryUrl,
    standbyUrl,
    async caughtUp() {
      const options = { max: 1, onnotice: () => {} }
      const [p, s] = [postgres(primaryUrl, options), postgres(standbyUrl, options)]
      try {
        const [{ lsn }] = (await p`select pg_current_wal_lsn()::text as lsn`) as unknown as [{ lsn: string }]
        for (const deadline = Date.now() + 10_000; ;) {
          const [row] = await s`select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as done`
          if (row?.done) return
          if (Date.now() > deadline) throw new Error(`The standby did not replay up to ${lsn} within 10 s.`)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      } finally {
        await Promise.all([p.end(), s.end()])
      }
    },
    stop: clearFolder,
  }
}
