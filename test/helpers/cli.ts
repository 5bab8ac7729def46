/**
 * Runs the built CLI (`bin/run.js`) the way a user or cron would: a child process with its own
 * environment (no inherited database or API settings, HOME in a temporary folder, so no settings file) and a
 * time limit.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
  /** Called once the child has started, e.g. to send it a signal. */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void
}

const INHERITED_SETTINGS = /^(DATABASE_URL|PG[A-Z]+|COINCAP_.*|CRYPTO_ETL_.*|DEBUG|XDG_DATA_HOME|XDG_CONFIG_HOME)$/

/** A clean environment: the parent's, less every crypto-etl, Postgres and CoinCap setting. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!INHERITED_SETTINGS.test(key)) env[key] = value
  env.HOME = mkdtempSync(join(tmpdir(), 'crypto-etl-home-'))
  env.NO_COLOR = '1'
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  return env
}

/** Runs `crypto-etl <args>` and resolves with its exit code and output (never rejects on a non-zero exit). */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
    // A child that exits before reading (Node refusing a missing --env-file) closes stdin: EPIPE is no failure.
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
    options.onSpawn?.(child)
  })
}

/** The whole stderr of a command that read or wrote a warehouse and succeeded: the one line naming it. */
export const ONLY_WAREHOUSE_LINE = /^Warehouse: \S+(?: \S+)? schema \w+\n$/
