/**
 * The resident process of an embedded data directory (src/warehouse/embedded/resident-host.ts), as tests
 * see it: its record, whether it runs, and stopping it (SIGTERM) before its data directory is removed.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { isAlive, readResidentInfo } from '../../src/warehouse/embedded/resident-info.js'

export { readResidentInfo, isAlive }

/** Waits until `pid` has ended, up to `timeoutMs`; whether it did. */
export async function waitForExit(pid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await delay(50)
  }
  return true
}

/** Stops the resident of `dataDir`, if one runs (a clean stop: SIGTERM), and waits for it to end. */
export async function stopResident(dataDir: string): Promise<void> {
  const info = readResidentInfo(dataDir)
  if (!info || !isAlive(info.pid)) return
  try {
    process.kill(info.pid, 'SIGTERM')
  } catch {
    return
  }
  if (!(await waitForExit(info.pid))) process.kill(info.pid, 'SIGKILL')
}
