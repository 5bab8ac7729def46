/**
 * `<dataDir>/resident.json`: how a command finds the resident process that holds an embedded database open
 * (resident-host.ts). Written by the resident once it listens, removed when it stops; a resident killed
 * without warning leaves it behind, which is why a reader checks that its process is still alive.
 */
import { readFileSync } from 'node:fs'
import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface ResidentInfo {
  pid: number
  /** The Unix socket it serves on, in a private (0700) temporary folder. */
  socket: string
  /** The crypto-etl version it runs: a command of another version replaces it. */
  version: string
  /** Set when this resident created the database on first use: from the shipped seed or by initdb. */
  createdFrom?: 'seed' | 'initdb'
}

export function residentInfoPath(dataDir: string): string {
  return join(dataDir, 'resident.json')
}

/** The resident's record, or undefined when there is none (or it is unreadable: a write cut short). */
export function readResidentInfo(dataDir: string): ResidentInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(residentInfoPath(dataDir), 'utf8')) as Partial<ResidentInfo>
    if (typeof info.pid !== 'number' || typeof info.socket !== 'string' || typeof info.version !== 'string') {
      return undefined
    }
    return info as ResidentInfo
  } catch {
    return undefined
  }
}

/** Writes the record whole (a temporary file renamed over it), so a reader never sees half of it. */
export async function writeResidentInfo(dataDir: string, info: ResidentInfo): Promise<void> {
  const path = residentInfoPath(dataDir)
  await writeFile(`${path}.${info.pid}`, JSON.stringify(info))
  await rename(`${path}.${info.pid}`, path)
}

/** Removes the record if it is still the one of `pid` (a successor may have written its own). */
export async function removeResidentInfo(dataDir: string, pid: number): Promise<void> {
  if (readResidentInfo(dataDir)?.pid === pid) await rm(residentInfoPath(dataDir), { force: true })
}

/** Whether process `pid` exists (a signal 0 reaches it, or it belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The byte a resident sends a client when its turn comes: from then on the socket speaks Postgres. */
export const TURN_GRANTED = 0x47

/** One message of the Postgres protocol from a client: its type, its length (itself included), its body. */
export function frontendMessage(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5)
  header.write(type, 0)
  header.writeInt32BE(4 + body.length, 1)
  return Buffer.concat([header, body])
}
