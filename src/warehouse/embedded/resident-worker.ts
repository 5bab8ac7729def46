/**
 * The resident's worker thread: opens PGlite and serves it on a socket only the resident's main thread
 * connects to. PGlite runs here so that a long statement never blocks the main thread, which must keep
 * refreshing the data directory's lock (a lock not refreshed for 10 s is taken over: two processes on one
 * data directory would corrupt it).
 *
 * Messages from the main thread: `reset` (between two clients) and `stop`; to it: `ready`, `failed`,
 * `reset-done`, `stopped`.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { PGlite } from '@electric-sql/pglite'
import { assertFreeSpace } from './disk.js'
import { openPglite } from './embedded.js'
import { frontendMessage } from './resident-info.js'

interface WorkerInput {
  dataDir: string
  innerSocket: string
}

export type ToWorker = { type: 'reset' } | { type: 'stop' }
export type FromWorker =
  | { type: 'ready'; createdFrom?: 'seed' | 'initdb' }
  | { type: 'failed'; message: string }
  | { type: 'reset-done'; ok: boolean; message?: string }
  | { type: 'stopped' }

const port = parentPort!
const post = (message: FromWorker) => port.postMessage(message)

/** A CopyFail then a Sync: ends a COPY a client left unfinished; outside a COPY, Postgres ignores the first. */
function endInterruptedCopy(): Uint8Array {
  return Buffer.concat([frontendMessage('f', Buffer.from('client went away\0')), frontendMessage('S')])
}

/**
 * Leaves the session as a new client expects it: no COPY in progress, no open transaction (rolled back:
 * a client killed mid-load leaves nothing half-written), no session state (DISCARD ALL).
 */
async function resetSession(db: PGlite): Promise<void> {
  await db.runExclusive(async () => {
    await db.execProtocolRaw(endInterruptedCopy())
  })
  await db.exec('ROLLBACK')
  await db.exec('DISCARD ALL')
  await db.query('select 1')
}

async function main(): Promise<void> {
  const { dataDir, innerSocket } = workerData as WorkerInput
  // The socket bridge may reject once when its client vanished mid-statement; the reset below repairs it.
  process.on('unhandledRejection', () => {})
  let db: PGlite
  let createdFrom: 'seed' | 'initdb' | undefined
  try {
    await assertFreeSpace(dataDir)
    ;({ db, createdFrom } = await openPglite(dataDir, undefined))
  } catch (error) {
    post({ type: 'failed', message: (error as Error).message })
    return
  }
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
  const server = new PGLiteSocketServer({ db, path: innerSocket, maxConnections: 1 })
  await server.start()
  post({ type: 'ready', createdFrom })
  port.on('message', (message: ToWorker) => {
    if (message.type === 'reset') {
      // The bridge's own clean-up of the closed connection runs first (it is queued behind this message).
      setTimeout(() => {
        resetSession(db).then(
          () => post({ type: 'reset-done', ok: true }),
          (error: unknown) => post({ type: 'reset-done', ok: false, message: (error as Error).message }),
        )
      }, 0)
    } else {
      void (async () => {
        await server.stop().catch(() => {})
        // A clean close ends with a checkpoint.
        await db.close().catch(() => {})
        post({ type: 'stopped' })
      })()
    }
  })
}

void main()
