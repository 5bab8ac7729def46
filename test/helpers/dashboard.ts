/**
 * Starts `crypto-etl dashboard` from the built CLI, as a user would, and reads the URL it prints; `stop()`
 * sends SIGTERM and resolves with the exit code and what it wrote.
 */
import type { ChildProcess } from 'node:child_process'
import { startCli } from './cli.js'
import { type Seeded, seedWarehouse } from './seed.js'
import { Scratch } from './scratch.js'
import type { Target } from './warehouse.js'

export interface RunningDashboard {
  /** e.g. `http://127.0.0.1:40123/` (with `?token=` when it printed one). */
  url: string
  /** The address without the token. */
  origin: string
  child: ChildProcess
  stdout(): string
  stderr(): string
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }>
}

/** Runs `crypto-etl dashboard --port 0 <args>` with `env`; rejects if it exits or prints no URL in time. */
export function startDashboard(
  env: Record<string, string>,
  args: string[] = [],
  timeoutMs = 60_000,
): Promise<RunningDashboard> {
  const { child, done, stdout, stderr } = startCli(['dashboard', '--port', '0', ...args], { env, timeoutMs: Infinity })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`dashboard printed no URL in ${timeoutMs} ms: ${stdout()}${stderr()}`))
    }, timeoutMs)
    void done.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`dashboard exited ${code} before serving: ${stdout()}${stderr()}`))
    })
    child.stdout!.on('data', () => {
      const url = /(http:\/\/\S+)/.exec(stdout())?.[1]
      if (!url) return
      clearTimeout(timer)
      resolve({
        url,
        origin: new URL(url).origin,
        child,
        stdout,
        stderr,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode === null) child.kill(signal)
          const { code } = await done
          return { code, stdout: stdout(), stderr: stderr() }
        },
      })
    })
  })
}

/** A seeded warehouse for a dashboard test, no connection of this process holding it. */
export interface SeededTarget {
  env: Record<string, string>
  schema: string
  seeded: Seeded
  cleanup(): Promise<void>
}

/** Seeds `target` with the known dataset of seed.ts, its newest observation at `at`, and lets go of it. */
export async function seedTarget(target: Target, label: string, at: Date): Promise<SeededTarget> {
  const scratch = new Scratch()
  const t = await scratch.warehouse(target, label)
  const seeded = await t.use((warehouse) => seedWarehouse(warehouse, at))
  return { env: t.env, schema: t.schema, seeded, cleanup: () => scratch.cleanup() }
}
