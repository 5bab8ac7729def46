/**
 * The resident's front door: clients connect to its public socket and are served one at a time (PGlite is
 * a single session). A client waits, connected, until its turn; then it gets one byte (TURN_GRANTED) and
 * its socket is joined to PGlite's. When it leaves, however it leaves (a clean end, a crash, kill -9), the
 * session is reset before the next client's turn.
 */
import net from 'node:net'
import { TURN_GRANTED } from './resident-info.js'

export interface TurnsOptions {
  /** The socket of PGlite's bridge, in the worker thread. */
  innerSocket: string
  /** Resets the session between two clients; false when it could not be done (the resident then stops). */
  reset(): Promise<boolean>
  /** Hears whenever the count of clients (served or waiting) changes. */
  onClients(count: number): void
  /** Hears when the session could not be reset, or the data directory can no longer be written. */
  onBroken(): void
  /** Whether the data directory can still be written: checked before each turn. */
  writable(): boolean
}

export interface Turns {
  /** Takes a newly connected client. */
  add(client: net.Socket): void
  /** Closes every client, served or waiting. */
  closeAll(): void
}

export function createTurns(options: TurnsOptions): Turns {
  const waiting: net.Socket[] = []
  let serving: net.Socket | undefined
  let broken = false

  const count = () => waiting.length + (serving ? 1 : 0)
  const changed = () => options.onClients(count())

  const next = () => {
    if (serving || broken) return
    const client = waiting.shift()
    if (client && !options.writable()) {
      // The client finds the resident gone and opens the database itself, which reports why it cannot.
      broken = true
      client.destroy()
      options.onBroken()
      return
    }
    if (client) {
      serving = client
      serve(client)
    }
    changed()
  }

  const serve = (client: net.Socket) => {
    const inner = net.connect(options.innerSocket)
    let closed = 0
    const bothClosed = () => {
      if (++closed < 2) return
      void options.reset().then((ok) => {
        serving = undefined
        if (!ok) {
          broken = true
          options.onBroken()
          return
        }
        next()
      })
    }
    inner.once('connect', () => {
      if (client.destroyed) return inner.destroy()
      client.write(Buffer.from([TURN_GRANTED]))
      client.pipe(inner)
      inner.pipe(client)
    })
    for (const socket of [client, inner]) {
      socket.on('error', () => socket.destroy())
      socket.once('close', () => {
        client.destroy()
        inner.destroy()
        bothClosed()
      })
    }
  }

  return {
    add(client) {
      if (broken) {
        client.destroy()
        return
      }
      waiting.push(client)
      client.on('error', () => client.destroy())
      // A waiting client that gives up leaves the queue.
      client.once('close', () => {
        const at = waiting.indexOf(client)
        if (at >= 0) {
          waiting.splice(at, 1)
          changed()
        }
      })
      changed()
      next()
    },
    closeAll() {
      for (const client of waiting.splice(0)) client.destroy()
      serving?.destroy()
    },
  }
}
