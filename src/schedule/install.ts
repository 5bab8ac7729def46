/**
 * The I/O of `schedule`: where the env file, the log and the units go, what cron and systemd will not see
 * of this shell, and `--install` (the crontab program, unit files).
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parse as parseEnvFile } from 'dotenv'
import { SETTINGS_TEMPLATE } from '../config/settings-file.js'
import type { UserDirs } from '../config/user-dirs.js'
import { ConfigError, type EtlError, UsageError } from '../core/errors.js'
import { CRON_BEGIN, mergeCrontab } from './cron.js'
import { count } from './comments.js'
import type { Schedule, ScheduleFormat, UnitFile } from './types.js'
import { UNIT_MARKER } from './systemd.js'

// --- Where things go, and what cron and systemd will not see -------------------------------------------

/** Default places: cron's log file, the folder of user units (XDG, as `systemctl --user` reads it). */
export function schedulePaths(dirs: UserDirs) {
  return {
    cronLog: join(dirs.state, 'crypto-etl', 'cron.log'),
    unitDir: join(dirs.config, 'systemd', 'user'),
  }
}

/** Settings flags of `schedule` that `run` gets too (`--data-dir` made absolute), and the variables they replace. */
export function forwardedSettings(flags: { 'data-dir'?: string; schema?: string; 'api-url'?: string }) {
  const args: string[] = []
  const variables: string[] = []
  if (flags['data-dir']) {
    args.push('--data-dir', resolve(flags['data-dir']))
    variables.push('CRYPTO_ETL_DATA_DIR', 'XDG_DATA_HOME')
  }
  if (flags.schema) {
    args.push('--schema', flags.schema)
    variables.push('CRYPTO_ETL_SCHEMA')
  }
  if (flags['api-url']) {
    args.push('--api-url', flags['api-url'])
    variables.push('COINCAP_API_URL')
  }
  return { args, variables }
}

/** Where output goes: `--log-file` (absolute, or `syslog`); else cron's default file, or systemd's journal. */
export function chooseLog(format: ScheduleFormat, logFile: string | undefined, cronLog: string): string {
  if (logFile === 'syslog' || (!logFile && format === 'systemd')) return 'syslog'
  return resolve(logFile ?? cronLog)
}

/** DEBUG is --verbose: it shapes the output of the command at hand, not what a scheduled run does. */
const OUTPUT_ONLY = ['DEBUG']

/** Facts about this machine that the advice of `schedule` is made of. */
export interface ScheduleChecks {
  cli: string
  /** The CLI runs from npx's cache, which npm may clear. */
  npx: boolean
  envFileExists: boolean
  /** The env file is readable or writable by group or others. */
  envFileOpen: boolean
  /** The env file sets COINCAP_API_KEY (to something). */
  envFileHasKey: boolean
  /** Settings set in this shell or given as flags, and absent from the env file and the forwarded flags. */
  unseen: string[]
  /** The folder of the log file when it does not exist yet. */
  logDirMissing?: string
}

/**
 * Looks at the env file, the settings given in this shell (`shell`: the variables set in the environment or
 * by a flag) and the log folder.
 */
export async function checkScheduleEnvironment(
  schedule: Schedule,
  cli: string,
  shell: readonly string[],
  forwardedVariables: readonly string[],
): Promise<ScheduleChecks> {
  const info = await stat(schedule.envFile).catch(() => undefined)
  const values = info ? parseEnvFile(await readFile(schedule.envFile, 'utf8').catch(() => '')) : {}
  const inFile = Object.keys(values)
  const unseen = [...new Set(shell)].filter(
    (k) => !OUTPUT_ONLY.includes(k) && !inFile.includes(k) && !forwardedVariables.includes(k),
  )
  const logDir = schedule.log === 'syslog' ? undefined : dirname(schedule.log)
  const logDirMissing = logDir && !(await stat(logDir).catch(() => undefined)) ? logDir : undefined
  return {
    cli,
    npx: cli.includes('/_npx/'),
    envFileExists: Boolean(info),
    envFileOpen: Boolean(info && (info.mode & 0o077) !== 0),
    envFileHasKey: Boolean(values.COINCAP_API_KEY?.trim()),
    unseen,
    logDirMissing,
  }
}

/**
 * Writes the settings template to `path` (mode 0600, its folder 0700) unless a file is there.
 * Returns whether it wrote one.
 */
export async function writeSettingsTemplate(path: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  try {
    await writeFile(path, SETTINGS_TEMPLATE, { mode: 0o600, flag: 'wx' })
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new ConfigError(`Cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`)
  }
}

// --- Installing ----------------------------------------------------------------------------------------

/**
 * Why `--install` must not go ahead, if it must not: a settings file that is missing or has no API key
 * (every run would fail; a `--demo` schedule needs no key), or a cost above `--budget` without `--force`.
 */
export function installRefusal(
  schedule: Schedule,
  checks: ScheduleChecks,
  options: { demo: boolean; force?: boolean; envFileNamed: boolean },
): EtlError | undefined {
  if (checks.npx)
    return new UsageError("Not installing a schedule that runs from npx's cache.", 'First: npm i -g crypto-etl')
  const init = `crypto-etl schedule --init${options.envFileNamed ? ` --env-file ${schedule.envFile}` : ''}`
  if (!checks.envFileExists) {
    return new ConfigError(
      `Not installing: the settings file ${schedule.envFile} does not exist, so every run would fail.`,
      `Create it (${init} writes a template), set COINCAP_API_KEY in it, then install again.`,
    )
  }
  if (!checks.envFileHasKey && !options.demo) {
    return new ConfigError(
      `Not installing: ${schedule.envFile} sets no COINCAP_API_KEY, so every run would exit 77.`,
      `Add COINCAP_API_KEY=<your key> to it, then install again.`,
    )
  }
  const { overBudget, perMonth, budget } = schedule.cost
  if (overBudget && !options.force) {
    return new UsageError(
      `Not installing: ~${count(perMonth)} CoinCap credits a month exceeds your budget of ${count(budget!)}.`,
      'Choose a longer cadence, fewer datasets or fewer assets, or install anyway with --force.',
    )
  }
  return undefined
}

/** Reads and writes the user's crontab (the `crontab` program, or a fake in tests). */
export interface CrontabIo {
  read(): Promise<string>
  write(text: string): Promise<void>
}

function runCrontab(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('crontab', args, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
      if (error && typeof error.code === 'string') reject(error)
      else resolve({ code, stdout, stderr })
    })
    // crontab -l may exit before reading stdin; the exit code, not EPIPE, says how it went.
    child.stdin?.on('error', () => {})
    child.stdin?.end(input)
  })
}

/** The user's crontab through the `crontab` program on PATH. */
const userCrontab: CrontabIo = {
  async read() {
    const result = await runCrontab(['-l']).catch(crontabMissing)
    if (result.code === 0) return result.stdout
    if (/no crontab/i.test(result.stderr)) return ''
    throw new ConfigError(`crontab -l failed: ${result.stderr.trim() || `exit ${result.code}`}.`)
  },
  async write(text) {
    const result = await runCrontab(['-'], text).catch(crontabMissing)
    if (result.code !== 0) throw new ConfigError(`crontab - failed: ${result.stderr.trim() || `exit ${result.code}`}.`)
  },
}

function crontabMissing(error: NodeJS.ErrnoException): never {
  if (error.code === 'ENOENT') {
    throw new ConfigError('The crontab program is not installed here.', 'Install cron, or use --format systemd.')
  }
  throw error
}

/** Installs the schedule: the crontab block or the unit files in `unitDir`, after creating the log file's folder. */
export async function installSchedule(
  schedule: Schedule,
  unitDir: string,
  io: CrontabIo = userCrontab,
): Promise<{ replaced?: boolean; stale?: string[] }> {
  if (schedule.log !== 'syslog') await mkdir(dirname(schedule.log), { recursive: true })
  if (schedule.crontab) return installCrontab(schedule.crontab, io)
  return installUnits(schedule.units ?? [], unitDir)
}

/**
 * The other scheduler's crypto-etl schedule, when one is installed: crypto-etl's timer files in `unitDir`
 * when installing cron, the crypto-etl block of the crontab when installing systemd units.
 */
export async function otherScheduleInstalled(
  format: ScheduleFormat,
  unitDir: string,
  io: CrontabIo = userCrontab,
): Promise<string[]> {
  if (format === 'systemd') {
    const crontab = await io.read().catch(() => '')
    return crontab.split('\n').some((l) => l.startsWith(CRON_BEGIN)) ? ['crontab'] : []
  }
  const timers: string[] = []
  for (const name of await readdir(unitDir).catch(() => [])) {
    if (!/^crypto-etl[a-z-]*\.timer$/.test(name)) continue
    const text = await readFile(join(unitDir, name), 'utf8').catch(() => '')
    if (text.startsWith(UNIT_MARKER)) timers.push(name)
  }
  return timers.sort()
}

/** Replaces the crypto-etl block of the user's crontab (or adds it). Returns whether one was replaced. */
export async function installCrontab(block: string, io: CrontabIo = userCrontab): Promise<{ replaced: boolean }> {
  const existing = await io.read()
  await io.write(mergeCrontab(existing, block))
  return { replaced: existing.split('\n').some((l) => l.startsWith(CRON_BEGIN)) }
}

/**
 * Writes the unit files into `dir` (each through a temporary file and a rename) and lists the
 * crypto-etl units written there before that this schedule no longer has.
 */
export async function installUnits(units: readonly UnitFile[], dir: string): Promise<{ stale: string[] }> {
  await mkdir(dir, { recursive: true })
  const names = new Set(units.map((u) => u.name))
  const stale: string[] = []
  for (const name of await readdir(dir)) {
    if (names.has(name) || !/^crypto-etl[a-z-]*\.(service|timer)$/.test(name)) continue
    const text = await readFile(join(dir, name), 'utf8').catch(() => '')
    if (text.startsWith(UNIT_MARKER)) stale.push(name)
  }
  for (const unit of units) {
    const path = join(dir, unit.name)
    await writeFile(`${path}.tmp`, unit.text)
    await rename(`${path}.tmp`, path)
  }
  return { stale: stale.sort() }
}
