/**
 * Runs the built CLI (`bin/run.js`) the way a user or cron would: a child process with its own
 * environment (no inherited database or API settings, HOME in a temporary folder, so no settings file) and a
 * time limit. The one place the tests and benchmarks spawn a process and collect its output.
 */
import { type ChildProcess, type SpawnSyncOptions, spawn, spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync } from 'node:fs'
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

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv
  /** Written to stdin, which is then closed (empty by default). */
  input?: string
  /** Leave stdin open for the caller (to pipe into it, or to show a command does not wait on it). */
  holdStdin?: boolean
  /** SIGKILL after this long; no limit when absent or `Infinity`. */
  timeoutMs?: number
  /** Run as this user (the tests run as root, which ignores file permissions). */
  user?: { uid: number; gid: number }
  cwd?: string
  /** Called once the child has started, e.g. to send it a signal. */
  onSpawn?: (child: ChildProcess) => void
}

export interface CliOptions extends Omit<ProcessOptions, 'env'> {
  /** Settings on top of a clean environment ({@link cleanEnv}); `undefined` removes one. */
  env?: Record<string, string | undefined>
}

/** A started process and its outcome (never rejects on a non-zero exit or a signal). */
export interface Running {
  child: ChildProcess
  done: Promise<CliResult>
  /** What it has written so far. */
  stdout(): string
  stderr(): string
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

/** Starts `command argv` and collects its output; `done` resolves when it has exited and its pipes closed. */
function startProcess(command: string, argv: string[], options: ProcessOptions = {}): Running {
  const started = performance.now()
  const env = options.env ?? process.env
  // Under another user the temporary HOME must be theirs.
  if (options.user && env.HOME) chownSync(env.HOME, options.user.uid, options.user.gid)
  const child = spawn(command, argv, {
    env,
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.user ?? {}),
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const limit = options.timeoutMs ?? Infinity
  const timer = Number.isFinite(limit) ? setTimeout(() => child.kill('SIGKILL'), limit) : undefined
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started })
    })
  })
  // A child that exits before reading (Node refusing a missing --env-file) closes stdin: EPIPE is no failure.
  child.stdin.on('error', () => {})
  if (!options.holdStdin) child.stdin.end(options.input ?? '')
  options.onSpawn?.(child)
  return { child, done, stdout: () => stdout, stderr: () => stderr }
}

/** Runs `command argv` to its end (asynchronously: servers the tests start answer from this process). */
export function runProcess(command: string, argv: string[], options: ProcessOptions = {}): Promise<CliResult> {
  return startProcess(command, argv, options).done
}

/** Starts `crypto-etl <args>` in a clean environment, 30 s at most unless `timeoutMs` says otherwise (`Infinity`: no limit). */
export function startCli(args: string[], options: CliOptions = {}): Running {
  return startProcess(process.execPath, [BIN, ...args], {
    timeoutMs: 30_000,
    ...options,
    env: cleanEnv(options.env),
  })
}

/** Runs `crypto-etl <args>` and resolves with its exit code and output (never rejects on a non-zero exit). */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done
}

/**
 * Runs `command args` synchronously (npm, git: nothing that needs this process's servers), 3 minutes at most.
 * `status` is null when it was killed.
 */
export function runSync(
  command: string,
  args: string[],
  options: SpawnSyncOptions = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 180_000, ...options })
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) }
}

/** The whole stderr of a command that read or wrote a warehouse and succeeded: the one line naming it. */
export const ONLY_WAREHOUSE_LINE = /^Warehouse: \S+(?: \S+)? schema \w+\n$/
