/**
 * How a command reaches the embedded database: through the resident process that holds it open
 * (resident-host.ts), started here when none is running. One client at a time: a command waits its turn,
 * as it would wait for the data directory's lock.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { setTimeout as delay } from 'node:timers/promises'
import { DatabaseError } from '../../core/errors.js'
import { VERSION } from '../../core/version.js'
import { DataDirLockedError } from './embedded.js'
import { isAlive, readResidentInfo, TURN_GRANTED } from './resident-info.js'
import { RESIDENT_EXIT } from './resident-exit.js'

export interface ResidentOptions {
  /** How long the resident stays after its last client, in ms. */
  idleMs: number
  /** How long to wait for the data directory (the resident's lock, or the turn of another client), in ms. */
  lockWaitMs?: number
}

/** A client's turn at the resident: `socket` speaks Postgres from here on. */
export interface ResidentTurn {
  socket: net.Socket
  /** Set when the resident this command started created the database. */
  createdFrom?: 'seed' | 'initdb'
}

/** The default lock wait: long enough to outlast the lock of a process that was killed (stale after 10 s). */
const DEFAULT_LOCK_WAIT_MS = 12_000
/** A client waits at least this long for its turn, whatever its lock wait. */
const MIN_TURN_WAIT_MS = 5_000
/** Added to the lock wait for the resident's own start (creating a database from the seed takes seconds). */
const START_ALLOWANCE_MS = 30_000
const POLL_MS = 25

/** The resident's entry file: the built one, from `dist` and from `src` alike (a checkout's tests). */
function residentMain(): string {
  return fileURLToPath(new URL('../../../dist/warehouse/embedded/resident-main.js', import.meta.url))
}

type TurnResult = { kind: 'granted'; socket: net.Socket } | { kind: 'timeout' } | { kind: 'gone' }

/** Connects to the resident's socket and waits for its turn. */
function waitForTurn(path: string, waitMs: number): Promise<TurnResult> {
  return new Promise((resolve) => {
    const socket = net.connect(path)
    const finish = (result: TurnResult) => {
      clearTimeout(timer)
      socket.off('data', onData).off('error', onGone).off('close', onGone)
      if (result.kind !== 'granted') socket.destroy()
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      if (chunk[0] !== TURN_GRANTED) return finish({ kind: 'gone' })
      if (chunk.length > 1) socket.unshift(chunk.subarray(1))
      finish({ kind: 'granted', socket })
    }
    const onGone = () => finish({ kind: 'gone' })
    const timer = setTimeout(() => finish({ kind: 'timeout' }), waitMs)
    socket.on('data', onData).on('error', onGone).on('close', onGone)
  })
}

interface Started {
  pid?: number
  /** Its exit code once it ended (a signal counts as a failure). */
  exitCode?: number
}

function startResident(dataDir: string, idleMs: number, lockWaitMs: number): Started | undefined {
  const main = residentMain()
  if (!existsSync(main)) return undefined
  const started: Started = {}
  try {
    const child = spawn(process.execPath, [main, dataDir, String(idleMs), String(lockWaitMs)], {
      detached: true,
      stdio: 'ignore',
      // Not the command's folder, which the resident would keep busy long after the command.
      cwd: '/',
    })
    started.pid = child.pid
    child.once('error', () => (started.exitCode ??= RESIDENT_EXIT.failed))
    child.once('exit', (code) => (started.exitCode ??= code ?? RESIDENT_EXIT.failed))
    child.unref()
  } catch {
    return undefined
  }
  return started
}

/**
 * Waits for a turn at the resident of `dataDir`, starting one when none runs (or replacing one of another
 * crypto-etl version). Undefined when no resident can serve: the caller opens the database in-process,
 * which also reports why it cannot be opened (a full disk, a folder it may not write).
 * @throws DataDirLockedError (74) when another client or process holds the database beyond the wait.
 */
export async function connectResident(dataDir: string, options: ResidentOptions): Promise<ResidentTurn | undefined> {
  const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS
  const turnWaitMs = Math.max(MIN_TURN_WAIT_MS, lockWaitMs)
  const deadline = Date.now() + lockWaitMs + START_ALLOWANCE_MS
  const askedToStop = new Set<number>()
  let started: Started | undefined
  while (Date.now() < deadline) {
    const info = readResidentInfo(dataDir)
    if (info && isAlive(info.pid)) {
      if (info.version === VERSION) {
        const turn = await waitForTurn(info.socket, turnWaitMs)
        if (turn.kind === 'granted') {
          return { socket: turn.socket, createdFrom: info.pid === started?.pid ? info.createdFrom : undefined }
        }
        if (turn.kind === 'timeout') throw new DataDirLockedError(dataDir)
        // It is stopping: its successor (started below, or by another command) waits for its lock.
      } else if (!askedToStop.has(info.pid)) {
        askedToStop.add(info.pid)
        process.kill(info.pid, 'SIGTERM')
      }
    }
    if (!started) {
      started = startResident(dataDir, options.idleMs, lockWaitMs)
      if (!started) return undefined
    } else if (started.exitCode !== undefined) {
      if (started.exitCode === RESIDENT_EXIT.locked) throw new DataDirLockedError(dataDir)
      if (started.exitCode !== RESIDENT_EXIT.done) return undefined
      // Another resident won the race for the lock: its record is read on the next round.
      started = undefined
    }
    await delay(POLL_MS)
  }
  throw new DatabaseError(
    `The embedded database in ${dataDir} did not open within ${Math.round((lockWaitMs + START_ALLOWANCE_MS) / 1000)} s.`,
    'Try again; CRYPTO_ETL_EMBEDDED_IDLE=0 opens it in the command itself.',
  )
}
