/**
 * Free space under the embedded data directory. PGlite does not fail cleanly when its disk fills: it spins
 * in WebAssembly with the event loop blocked (even SIGTERM goes unanswered), so crypto-etl refuses to
 * start, or to write another batch, while the disk is nearly full.
 */
import { statfs } from 'node:fs/promises'
import { DatabaseError } from '../../core/errors.js'

/** Below this much free space the embedded database is not written to (WAL segments alone are 16 MiB). */
const MIN_FREE_BYTES = 64 * 1024 * 1024

/** Free bytes available to this user on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const stats = await statfs(path)
  return stats.bavail * stats.bsize
}

/** @throws DatabaseError (exit 74) when the file system of `dataDir` has less than {@link MIN_FREE_BYTES} free. */
export async function assertFreeSpace(dataDir: string, minBytes = MIN_FREE_BYTES): Promise<void> {
  const free = await freeBytes(dataDir)
  if (free >= minBytes) return
  const mib = (n: number) => `${Math.floor(n / (1024 * 1024))} MiB`
  throw new DatabaseError(
    `The disk of the embedded database in ${dataDir} is almost full: ${mib(free)} free, ${mib(minBytes)} needed.`,
    'Free some space (crypto-etl prune --older-than 30d removes old snapshots), or point --data-dir elsewhere.',
  )
}

/**
 * A check to call between writes: throws like {@link assertFreeSpace} once the disk of `dataDir` runs low,
 * asking the file system at most every `everyMs`. A no-op without a data directory (a server).
 */
export function diskGuard(dataDir: string | undefined, everyMs = 200): () => Promise<void> {
  if (!dataDir) return async () => {}
  let checkedAt = 0
  return async () => {
    if (Date.now() - checkedAt < everyMs) return
    checkedAt = Date.now()
    await assertFreeSpace(dataDir)
  }
}
