/**
 * The resident process that holds an embedded database open between commands, as real processes on real
 * files: clients are served one at a time, a client that vanishes (mid-transaction, mid-COPY) leaves
 * nothing behind for the next, and the resident ends when idle, when its lock is taken from it, and when
 * its data directory disappears.
 */
import { rm } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterEach, describe, expect, it } from 'vitest'
import { DataDirLockedError } from '../../src/warehouse/embedded/embedded.js'
import { connectResident, type ResidentTurn } from '../../src/warehouse/embedded/resident-client.js'
import { frontendMessage } from '../../src/warehouse/embedded/resident-info.js'
import { copyEmbeddedTemplate } from '../helpers/warehouse.js'
import { isAlive, readResidentInfo, stopResident, waitForExit } from '../helpers/resident.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await stopResident(dir)
    await rm(dir, { recursive: true, force: true })
  }
})

async function dataDir(): Promise<string> {
  const dir = await copyEmbeddedTemplate()
  dirs.push(dir)
  return dir
}

/** A postgres.js client on a turn at the resident. */
function client(turn: ResidentTurn) {
  return postgres({ socket: () => Promise.resolve(turn.socket), max: 1, ssl: false, onnotice: () => {} } as never)
}

const open = (dir: string, idleMs = 60_000, lockWaitMs = 5_000) => connectResident(dir, { idleMs, lockWaitMs })

/** The protocol's startup message for user and database postgres (protocol 3.0). */
function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0')
  const message = Buffer.alloc(8 + params.length)
  message.writeInt32BE(message.length, 0)
  message.writeInt32BE(196_608, 4)
  params.copy(message, 8)
  return message
}

/** Resolves once the server has sent a message of `type` (e.g. `Z`, ready for query). */
function untilMessage(socket: Socket, type: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 5 && pending.length >= 1 + pending.readInt32BE(1)) {
        const seen = String.fromCharCode(pending[0]!)
        pending = pending.subarray(1 + pending.readInt32BE(1))
        if (seen === type) {
          socket.off('data', onData)
          return resolve()
        }
      }
    }
    socket.on('data', onData).once('close', () => reject(new Error(`closed before a '${type}' message`)))
  })
}

describe('the resident process', () => {
  it('serves one client at a time: the next waits its turn, then is served', async () => {
    const dir = await dataDir()
    const first = client((await open(dir))!)
    await first`create table t (n int)`
    const waiting = open(dir)
    let served = false
    void waiting.then(() => (served = true))
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(served).toBe(false)
    await first`insert into t values (1)`
    await first.end()
    const second = client((await waiting)!)
    expect(await second`select n from t`).toEqual([{ n: 1 }])
    await second.end()
  })

  it('gives a client that waited longer than its wait exit 74 (the locked data directory)', async () => {
    const dir = await dataDir()
    const first = client((await open(dir))!)
    await first`select 1`
    const started = Date.now()
    await expect(open(dir, 60_000, 0)).rejects.toBeInstanceOf(DataDirLockedError)
    // At least 5 s, whatever the command's own wait.
    expect(Date.now() - started).toBeGreaterThanOrEqual(5_000)
    await first.end()
  })

  it('rolls back the transaction of a client that vanished, and resets its session', async () => {
    const dir = await dataDir()
    const setup = client((await open(dir))!)
    await setup`create table t (n int)`
    await setup.end()
    const turn = (await open(dir))!
    const killed = client(turn)
    await killed`begin`
    await killed`insert into t values (1)`
    const [{ p: fresh }] = await killed<[{ p: string }]>`select current_setting('search_path') as p`
    await killed`set search_path to nowhere`
    turn.socket.destroy()
    const next = client((await open(dir))!)
    expect(await next`select count(*)::int as n from t`).toEqual([{ n: 0 }])
    expect(await next`select current_setting('search_path') as p`).toEqual([{ p: fresh }])
    await next`insert into t values (2)`
    expect(await next`select n from t`).toEqual([{ n: 2 }])
    await next.end()
  })

  it('survives a client that starts a COPY FROM STDIN (which PGlite cannot serve) and vanishes', async () => {
    const dir = await dataDir()
    const setup = client((await open(dir))!)
    await setup`create table t (n int)`
    await setup`insert into t values (1)`
    await setup.end()
    // Spoken by hand: postgres.js, its socket destroyed under a COPY, throws in this process later on.
    const { socket } = (await open(dir))!
    socket.write(startupMessage())
    await untilMessage(socket, 'Z')
    socket.write(frontendMessage('Q', Buffer.from('copy t from stdin\0')))
    await new Promise((resolve) => setTimeout(resolve, 300))
    socket.destroy()
    const next = client((await open(dir, 60_000, 15_000))!)
    expect(await next`select n from t order by n`).toEqual([{ n: 1 }])
    await next`insert into t values (4)`
    expect(await next`select n from t order by n`).toEqual([{ n: 1 }, { n: 4 }])
    await next.end()
  })

  it('stops cleanly once idle: record removed, lock released, committed rows kept', async () => {
    const dir = await dataDir()
    const first = client((await open(dir, 1_000))!)
    await first`create table t (n int)`
    await first`insert into t values (7)`
    const { pid } = readResidentInfo(dir)!
    await first.end()
    expect(await waitForExit(pid, 10_000)).toBe(true)
    expect(readResidentInfo(dir)).toBeUndefined()
    const next = client((await open(dir))!)
    expect(await next`select n from t`).toEqual([{ n: 7 }])
    expect(readResidentInfo(dir)!.pid).not.toBe(pid)
    await next.end()
  })

  it('ends at once when its data directory disappears, and when its lock is taken from it', async () => {
    const gone = await dataDir()
    await client((await open(gone))!).end()
    const first = readResidentInfo(gone)!.pid
    await rm(gone, { recursive: true, force: true })
    expect(await waitForExit(first, 3_000)).toBe(true)

    const robbed = await dataDir()
    await client((await open(robbed))!).end()
    const second = readResidentInfo(robbed)!.pid
    await rm(join(robbed, 'lock'), { recursive: true, force: true })
    // proper-lockfile notices at its next refresh, every 5 s.
    expect(await waitForExit(second, 8_000)).toBe(true)
    expect(isAlive(second)).toBe(false)
  })
})
