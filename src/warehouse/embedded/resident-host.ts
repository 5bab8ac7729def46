/**
 * The resident process: owns an embedded data directory for a while and serves its database to the
 * commands over a Unix socket, so a command (a five-minute cron run, the dashboard's reads) does not pay
 * for starting Postgres in WebAssembly each time. Started on demand by a command (resident-client.ts).
 *
 * The data directory's lock stays the one arbiter: the resident takes it before it opens the database and
 * keeps it refreshed from this (main) thread while PGlite runs in a worker thread. It stops cleanly (a
 * checkpoint) after `idleMs` without a client, on SIGTERM or SIGINT; at once, without touching the
 * database again, when its lock is compromised or its data directory disappears.
 */
import { accessSync, constants, existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { VERSION } from '../../core/version.js'
import { acquireLock, DataDirLockedError, makeDataDir } from './embedded.js'
import { isAlive, readResidentInfo, removeResidentInfo, writeResidentInfo } from './resident-info.js'
import { RESIDENT_EXIT } from './resident-exit.js'
import { createTurns } from './resident-turns.js'
import type { FromWorker, ToWorker } from './resident-worker.js'

export interface ResidentOptions {
  dataDir: string
  /** How long it stays after its last client left, in ms. */
  idleMs: number
  /** How long it waits for the data directory's lock (held by a command that opened it in-process). */
  lockWaitMs: number
}

const WATCH_MS = 500
/** Resetting a session takes milliseconds; longer means PGlite is stuck. */
const RESET_TIMEOUT_MS = 5_000

/** Waits for the lock; gives up quietly (undefined) as soon as another live resident serves the directory. */
async function lockOrYield(options: ResidentOptions, onCompromised: () => void) {
  const deadline = Date.now() + options.lockWaitMs
  for (;;) {
    const other = readResidentInfo(options.dataDir)
    if (other && other.pid !== process.pid && other.version === VERSION && isAlive(other.pid)) return undefined
    try {
      return await acquireLock(options.dataDir, Math.min(250, Math.max(0, deadline - Date.now())), onCompromised)
    } catch (error) {
      if (!(error instanceof DataDirLockedError) || Date.now() >= deadline) throw error
    }
  }
}

function startWorker(dataDir: string, innerSocket: string) {
  const worker = new Worker(new URL('./resident-worker.js', import.meta.url), { workerData: { dataDir, innerSocket } })
  const send = (message: ToWorker) => worker.postMessage(message)
  const next = <T extends FromWorker['type']>(...types: T[]) =>
    new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (!types.includes(message.type as T)) return
        worker.off('message', onMessage)
        resolve(message as Extract<FromWorker, { type: T }>)
      }
      worker.on('message', onMessage)
      worker.once('error', reject)
      worker.once('exit', () => reject(new Error('the database worker ended')))
    })
  return { worker, send, next }
}

/** Runs the resident until it stops; resolves with its exit code. */
export async function runResident(options: ResidentOptions): Promise<number> {
  const { dataDir } = options
  const exitNow = (code: number) => {
    // Nothing more may touch a database another process may now own: no checkpoint, no clean close. (The
    // resident is a process of its own, with no command to throw to.)
    // eslint-disable-next-line no-restricted-properties
    process.exit(code)
  }
  try {
    await makeDataDir(dataDir)
  } catch {
    return RESIDENT_EXIT.failed
  }
  let release: (() => Promise<void>) | undefined
  try {
    release = await lockOrYield(options, () => exitNow(RESIDENT_EXIT.failed))
  } catch (error) {
    return error instanceof DataDirLockedError ? RESIDENT_EXIT.locked : RESIDENT_EXIT.failed
  }
  if (!release) return RESIDENT_EXIT.done

  const socketDir = await mkdtemp(join(tmpdir(), 'crypto-etl-'))
  const innerSocket = join(socketDir, 'pglite.sock')
  const publicSocket = join(socketDir, '.s.PGSQL.5432')
  const db = startWorker(dataDir, innerSocket)
  const opened: FromWorker = await db
    .next('ready', 'failed')
    .catch((error: Error) => ({ type: 'failed', message: error.message }) as const)
  if (opened.type === 'failed') {
    await db.worker.terminate()
    await rm(socketDir, { recursive: true, force: true })
    await release().catch(() => {})
    return RESIDENT_EXIT.failed
  }

  let stopping: Promise<number> | undefined
  let stopped!: (code: number) => void
  const ended = new Promise<number>((resolve) => (stopped = resolve))
  let idleTimer: NodeJS.Timeout | undefined
  const turns = createTurns({
    innerSocket,
    async reset() {
      if (stopping) return true
      db.send({ type: 'reset' })
      const timeout = new Promise<{ ok: false }>((resolve) =>
        setTimeout(() => resolve({ ok: false }), RESET_TIMEOUT_MS),
      )
      const done = await Promise.race([db.next('reset-done').catch(() => ({ ok: false })), timeout])
      return done.ok
    },
    onClients(count) {
      clearTimeout(idleTimer)
      if (count === 0) idleTimer = setTimeout(() => void stop(), options.idleMs)
    },
    // A session it cannot reset (PGlite stuck, e.g. after a COPY FROM STDIN, which its bridge cannot serve)
    // is given up as a killed process's would be: the next command's resident recovers the database.
    onBroken: () => void stop({ clean: false }),
    // A file system remounted read-only (or a folder made unwritable) under a live resident.
    writable: () => {
      try {
        accessSync(dataDir, constants.W_OK)
        return true
      } catch {
        return false
      }
    },
  })
  const server = net.createServer((client) => turns.add(client))

  const stop = ({ clean = true } = {}) => {
    stopping ??= (async () => {
      clearTimeout(idleTimer)
      clearInterval(watch)
      server.close()
      await removeResidentInfo(dataDir, process.pid).catch(() => {})
      turns.closeAll()
      if (clean) {
        db.send({ type: 'stop' })
        await Promise.race([db.next('stopped'), new Promise((resolve) => setTimeout(resolve, 10_000))]).catch(() => {})
      }
      await db.worker.terminate()
      await rm(socketDir, { recursive: true, force: true })
      await release!().catch(() => {})
      stopped(RESIDENT_EXIT.done)
      return RESIDENT_EXIT.done
    })()
    return stopping
  }
  // Tests and people delete data directories: a resident must not keep serving one that is gone.
  const watch = setInterval(() => {
    if (!existsSync(join(dataDir, 'pgdata'))) {
      void rm(socketDir, { recursive: true, force: true }).finally(() => exitNow(RESIDENT_EXIT.done))
    }
  }, WATCH_MS)
  process.once('SIGTERM', () => void stop())
  process.once('SIGINT', () => void stop())
  db.worker.once('exit', () => {
    if (!stopping) exitNow(RESIDENT_EXIT.failed)
  })

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(publicSocket, resolve)
    })
    await writeResidentInfo(dataDir, {
      pid: process.pid,
      socket: publicSocket,
      version: VERSION,
      ...(opened.type === 'ready' && opened.createdFrom ? { createdFrom: opened.createdFrom } : {}),
    })
  } catch {
    await stop()
    return RESIDENT_EXIT.failed
  }
  idleTimer = setTimeout(() => void stop(), options.idleMs)
  return ended
}
