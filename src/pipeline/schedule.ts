/**
 * `schedule`: cadences, crontab lines and systemd units for `run`, and what they cost. Everything here
 * above "Installing" is pure text from its inputs (paths, hostname, measured credits), so it is tested as
 * exact strings; the I/O of `--install` (the crontab program, unit files) is at the end.
 */

import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { parse as parseEnvFile } from 'dotenv'
import { settingsSchema } from '../config/settings.js'
import { formatDuration, parseDuration } from '../config/time.js'
import { ConfigError, UsageError } from '../errors.js'
import {
  datasetsKey,
  estimateRunCredits,
  FREE_TIER_CREDITS,
  type MeasuredCredits,
  monthlyCredits,
  type RunSelection,
  runsPerMonth,
  smallestPlan,
} from './costs.js'
import { DEFAULT_DATASETS, SNAPSHOT_DATASETS, type SnapshotDataset } from './datasets.js'

export type ScheduleFormat = 'cron' | 'systemd'
export const SCHEDULE_FORMATS = ['cron', 'systemd'] as const

const DAY_MINUTES = 1440
const MINUTE_MS = 60_000

/** Parses `assets=5m,exchanges=1h` into a cadence (ms) per dataset. @throws Error with a one-line message. */
export function parseDatasetEvery(text: string): Partial<Record<SnapshotDataset, number>> {
  const out: Partial<Record<SnapshotDataset, number>> = {}
  for (const item of text.split(',').map((s) => s.trim())) {
    if (!item) continue
    const [name = '', every = ''] = item.split('=').map((s) => s.trim())
    if (!(SNAPSHOT_DATASETS as readonly string[]).includes(name)) {
      throw new Error(`Unknown dataset '${name}' in '${item}'; expected one of ${SNAPSHOT_DATASETS.join(', ')}.`)
    }
    const ms = parseDuration(every)
    if (ms === undefined) throw new Error(`'${every}' in '${item}' is not a duration; use e.g. assets=5m,exchanges=1h.`)
    out[name as SnapshotDataset] = ms
  }
  if (Object.keys(out).length === 0) throw new Error('Expected dataset=cadence pairs, e.g. assets=5m,exchanges=1h.')
  return out
}

// --- Cadences ------------------------------------------------------------------------------------------

/** The minutes of the day (0..1439) a cadence of `every` minutes fires at, starting `offset` minutes in. */
function fireTimes(every: number, offset: number): number[] {
  const times: number[] = []
  for (let t = offset % every; t < DAY_MINUTES; t += every) times.push(t)
  return times
}

/** Fire times as calendar entries: minutes sharing the same hours, so each entry is one cron line / OnCalendar. */
interface CalendarEntry {
  minutes: number[]
  hours: number[]
}

function calendarEntries(times: readonly number[]): CalendarEntry[] {
  const hoursByMinute = new Map<number, number[]>()
  for (const t of times) {
    const minute = t % 60
    hoursByMinute.set(minute, [...(hoursByMinute.get(minute) ?? []), Math.floor(t / 60)])
  }
  const entries = new Map<string, CalendarEntry>()
  for (const [minute, hours] of [...hoursByMinute].sort((a, b) => a[0] - b[0])) {
    const key = hours.join(',')
    const entry = entries.get(key) ?? { minutes: [], hours }
    entry.minutes.push(minute)
    entries.set(key, entry)
  }
  return [...entries.values()].sort((a, b) => a.hours[0]! - b.hours[0]! || a.minutes[0]! - b.minutes[0]!)
}

/** Whether `every` minutes repeats evenly through every day, as one cron line or as OnCalendar values. */
function expressible(every: number, format: ScheduleFormat): boolean {
  if (!Number.isInteger(every) || every < 1 || every > DAY_MINUTES || DAY_MINUTES % every !== 0) return false
  return format === 'systemd' || calendarEntries(fireTimes(every, 0)).length === 1
}

/**
 * Checks that the format can run every `everyMs` evenly: cron every N minutes when N divides 60, every
 * N hours when N divides 24, or daily; systemd also any N minutes that divide a day (90m, 40m), as
 * several OnCalendar values. @throws UsageError (exit 2) naming the closest cadences that work.
 */
export function checkCadence(everyMs: number, format: ScheduleFormat, what = 'the schedule'): number {
  const minutes = everyMs / MINUTE_MS
  if (expressible(minutes, format)) return minutes
  const candidates = Array.from({ length: DAY_MINUTES }, (_, i) => i + 1).filter((m) => expressible(m, format))
  const below = candidates.filter((m) => m < minutes).at(-1)
  const above = candidates.find((m) => m > minutes)
  const close = [below, above].filter((m) => m !== undefined).map((m) => formatDuration(m * MINUTE_MS))
  const viaSystemd = format === 'cron' && expressible(minutes, 'systemd') ? ', or --format systemd' : ''
  throw new UsageError(
    `${format} cannot run ${what} every ${formatDuration(everyMs)} evenly; use ${close.join(' or ')}${viaSystemd}.`,
  )
}

/** A stable number from `seed`, so one machine keeps its minute and many machines spread over the hour. */
function stableHash(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0)
}

// --- The plan ------------------------------------------------------------------------------------------

/** What the user asked for. */
export interface ScheduleRequest {
  format: ScheduleFormat
  /** `--every`, in ms. */
  every?: number
  /** `--dataset-every`, in ms per dataset. */
  datasetEvery?: Partial<Record<SnapshotDataset, number>>
  /** `--datasets` given after `--` (taken out of `runArgs`), as run's parser read it. */
  datasets?: readonly SnapshotDataset[]
  /** Narrowing given after `--`, for the cost estimate. */
  selection?: RunSelection
  /** Flags for `run` after `--`, less `--datasets`. */
  runArgs: readonly string[]
  /** Settings flags of `schedule` itself to pass on (`--data-dir /abs`, `--schema x`). */
  forwarded?: readonly string[]
  /** Absolute paths. */
  node: string
  cli: string
  envFile: string
  /** An absolute file the output is appended to, or `syslog` (cron: through `logger`; systemd: the journal). */
  log: string
  /** Absolute path of `logger`, for cron's syslog output. */
  loggerPath?: string
  hostname: string
  version: string
  /** Average credits of recent runs, by {@link datasetsKey}. */
  measured?: ReadonlyMap<string, MeasuredCredits>
  /** `--budget`, credits a month. */
  budget?: number
}

/** The flags of `run` given after `--` that the schedule reads, as run's own parser returns them. */
export interface RunFlagValues {
  datasets?: SnapshotDataset[]
  limit?: number
  assets?: string[]
  'markets-limit'?: number
}

/** One cadence and the datasets that share it: one cron line, or one service and timer. */
export interface ScheduledGroup {
  datasets: SnapshotDataset[]
  every: string
  everyMs: number
  /** Minutes after midnight of the first run of the day (the stagger). */
  offsetMinutes: number
  /** The cron time fields, or the timer's OnCalendar values. */
  calendar: string[]
  /** The command, unquoted: node, the CLI, `run` and its flags. */
  argv: string[]
  /** The systemd unit name, without `.service`/`.timer`. */
  unit?: string
  cost: { perRun: number; runsPerMonth: number; perMonth: number; source: 'typical' | 'measured'; runs?: number }
}

/** A file to write: its name in the unit folder and its text. */
export interface UnitFile {
  name: string
  text: string
}

/** The whole schedule: what `--json` prints. */
export interface Schedule {
  format: ScheduleFormat
  groups: ScheduledGroup[]
  cost: {
    perMonth: number
    plan?: string
    planCredits?: number
    budget?: number
    overBudget: boolean
    overFreeTier: boolean
  }
  envFile: string
  log: string
  /** The crontab block (cron). */
  crontab?: string
  /** The service and timer files (systemd). */
  units?: UnitFile[]
}

/** Each dataset's cadence, grouped: `--every` for the `--datasets` set, `--dataset-every` per dataset. */
function cadenceOfDatasets(request: ScheduleRequest): Map<number, SnapshotDataset[]> {
  const { every, datasetEvery = {} } = request
  if (every === undefined && Object.keys(datasetEvery).length === 0) {
    throw new UsageError('Give a cadence: --every 5m, or --dataset-every assets=5m,exchanges=1h.')
  }
  const base = request.datasets ?? (every !== undefined ? DEFAULT_DATASETS : [])
  const chosen = SNAPSHOT_DATASETS.filter((d) => base.includes(d) || datasetEvery[d] !== undefined)
  const groups = new Map<number, SnapshotDataset[]>()
  for (const dataset of chosen) {
    const ms = datasetEvery[dataset] ?? every
    if (ms === undefined) {
      throw new UsageError(`No cadence for '${dataset}': add it to --dataset-every, or give --every.`)
    }
    groups.set(ms, [...(groups.get(ms) ?? []), dataset])
  }
  return new Map([...groups].sort((a, b) => a[0] - b[0]))
}

/** Fire times of each group, staggered and, where possible, at minutes no other group uses (runs take a lock). */
function staggerGroups(groups: Map<number, SnapshotDataset[]>, request: ScheduleRequest) {
  const taken = new Set<number>()
  return [...groups].map(([everyMs, datasets]) => {
    const minutes = checkCadence(everyMs, request.format, datasets.join(','))
    const start = stableHash(`${request.hostname}:${datasets.join(',')}`) % minutes
    let offset = start
    for (let step = 0; step < minutes; step++) {
      const candidate = (start + step) % minutes
      if (fireTimes(minutes, candidate).every((t) => !taken.has(t))) {
        offset = candidate
        break
      }
    }
    const times = fireTimes(minutes, offset)
    for (const t of times) taken.add(t)
    return { everyMs, minutes, datasets, offset, entries: calendarEntries(times) }
  })
}

function progression(values: readonly number[]): { first: number; step: number } | undefined {
  if (values.length < 2) return undefined
  const step = values[1]! - values[0]!
  return values.every((v, i) => v === values[0]! + i * step) ? { first: values[0]!, step } : undefined
}

/** A cron field: `*`, `*\/5`, `3-59/5`, `17` or `1,31`. */
function cronField(values: readonly number[], max: number): string {
  const p = progression(values)
  if (p && values.at(-1)! + p.step > max) {
    if (p.step === 1 && p.first === 0) return '*'
    return p.first === 0 ? `*/${p.step}` : `${p.first}-${max}/${p.step}`
  }
  return values.join(',')
}

/** An OnCalendar field: `*`, `03/5`, `17` or `01,31`. */
function calendarField(values: readonly number[], max: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  const p = progression(values)
  if (p && values.at(-1)! + p.step > max) {
    return p.step === 1 && p.first === 0 ? '*' : `${pad(p.first)}/${p.step}`
  }
  return values.map(pad).join(',')
}

const SECRET_FLAGS = ['--api-key', '--database-url', '--env-file']

/**
 * Checks the flags given after `--` for `run` and takes `--datasets` out of them (each cadence group gets
 * its own). @throws UsageError for newlines or control characters, and for secrets, which belong in the
 * env file rather than in a crontab.
 */
export function splitRunArgs(args: readonly string[]): { datasets?: string; rest: string[] } {
  const rest: string[] = []
  let datasets: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(arg)) {
      throw new UsageError('The flags after -- must not contain newlines or control characters.')
    }
    const name = arg.startsWith('--') ? arg.split('=')[0]! : ''
    if (SECRET_FLAGS.includes(name)) {
      throw new UsageError(
        `${name} does not belong after --: a schedule must not hold secrets or other settings files.`,
        'Put COINCAP_API_KEY and DATABASE_URL in the env file given to schedule with --env-file.',
      )
    }
    if (name === '--datasets') {
      datasets = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i]
      if (!datasets) throw new UsageError('--datasets after -- needs a list, e.g. --datasets assets,rates.')
      continue
    }
    rest.push(arg)
  }
  return { datasets, rest }
}

/** Builds the schedule: groups, their cost, and the crontab block or the unit files. */
export function buildSchedule(request: ScheduleRequest): Schedule {
  const staggered = staggerGroups(cadenceOfDatasets(request), request)
  const several = staggered.length > 1
  const groups: ScheduledGroup[] = staggered.map((g) => {
    const key = datasetsKey(g.datasets)
    const measured = request.measured?.get(key)
    const perRun = measured?.credits ?? estimateRunCredits(g.datasets, request.selection)
    return {
      datasets: g.datasets,
      every: formatDuration(g.everyMs),
      everyMs: g.everyMs,
      offsetMinutes: g.offset,
      calendar:
        request.format === 'cron'
          ? g.entries.map((e) => `${cronField(e.minutes, 59)} ${cronField(e.hours, 23)} * * *`)
          : g.entries.map((e) => `*-*-* ${calendarField(e.hours, 23)}:${calendarField(e.minutes, 59)}:00`),
      argv: runArgv(request, g.datasets),
      unit: request.format === 'systemd' ? (several ? `crypto-etl-${g.datasets.join('-')}` : 'crypto-etl') : undefined,
      cost: {
        perRun,
        runsPerMonth: runsPerMonth(g.everyMs),
        perMonth: monthlyCredits(perRun, g.everyMs),
        source: measured ? 'measured' : 'typical',
        runs: measured?.runs,
      },
    }
  })
  const perMonth = groups.reduce((sum, g) => sum + g.cost.perMonth, 0)
  const plan = smallestPlan(perMonth)
  const schedule: Schedule = {
    format: request.format,
    groups,
    cost: {
      perMonth,
      plan: plan?.name,
      planCredits: plan?.credits,
      budget: request.budget,
      overBudget: request.budget !== undefined && perMonth > request.budget,
      overFreeTier: perMonth > FREE_TIER_CREDITS,
    },
    envFile: request.envFile,
    log: request.log,
  }
  if (request.format === 'cron') schedule.crontab = crontabBlock(schedule, request)
  else schedule.units = groups.flatMap((g) => systemdUnits(g, request))
  return schedule
}

function runArgv(request: ScheduleRequest, datasets: readonly SnapshotDataset[]): string[] {
  const argv = [request.node, request.cli, 'run', '--datasets', datasets.join(',')]
  argv.push(...(request.forwarded ?? []), ...request.runArgs)
  return argv
}

const hasFlag = (argv: readonly string[], name: string) => argv.some((a) => a === name || a.startsWith(`${name}=`))

/** Text for comments: `241,200`. */
export const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')

function costComment(g: ScheduledGroup): string {
  const source = g.cost.source === 'measured' ? `average of ${g.cost.runs} recent runs` : 'typical sizes'
  return `${g.datasets.join(',')} every ${g.every}: ~${count(g.cost.perRun)} CoinCap credits a run, ~${count(g.cost.perMonth)} a month (${source})`
}

function totalComment(schedule: Schedule): string {
  const plan = schedule.cost.plan ? `the ${schedule.cost.plan} plan covers it` : 'more than any CoinCap plan'
  return `Total: ~${count(schedule.cost.perMonth)} CoinCap credits a month (${plan})`
}

// --- cron ----------------------------------------------------------------------------------------------

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Quotes one word for /bin/sh: as it is when safe, else in single quotes. */
export function shellQuote(word: string): string {
  return word !== '' && SHELL_SAFE.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/** The markers of the block `--install` owns in a crontab. */
export const CRON_BEGIN = '# BEGIN crypto-etl'
export const CRON_END = '# END crypto-etl'

function cronCommand(g: ScheduledGroup, request: ScheduleRequest): string {
  const argv = [...g.argv, '--env-file', request.envFile]
  const toFile = request.log !== 'syslog'
  // Cron's log file has no timestamps of its own: JSON log lines carry theirs.
  if (toFile && !hasFlag(argv, '--log-format')) argv.push('--log-format', 'json')
  const redirect = toFile
    ? `>> ${shellQuote(request.log)} 2>&1`
    : `2>&1 | ${shellQuote(request.loggerPath ?? 'logger')} -t crypto-etl`
  // An unescaped % ends a crontab command (cron turns it into a newline); cron removes the backslash.
  return `${argv.map(shellQuote).join(' ')} ${redirect}`.replaceAll('%', '\\%')
}

function crontabBlock(schedule: Schedule, request: ScheduleRequest): string {
  const output = request.log === 'syslog' ? 'syslog (logger -t crypto-etl)' : request.log
  const lines = [
    `${CRON_BEGIN}: written by crypto-etl ${request.version} schedule; \`crypto-etl schedule --install\` replaces this block`,
    `# Settings and secrets: ${request.envFile}. Output: ${output}`,
  ]
  for (const g of schedule.groups) {
    lines.push(`# ${costComment(g)}`)
    for (const time of g.calendar) lines.push(`${time} ${cronCommand(g, request)}`)
  }
  lines.push(`# ${totalComment(schedule)}`, CRON_END)
  return `${lines.join('\n')}\n`
}

/**
 * Puts `block` into a crontab: in place of the previous crypto-etl block, else at the end. Other lines
 * are kept as they are. @throws ConfigError when a previous block has no end marker.
 */
export function mergeCrontab(existing: string, block: string): string {
  const lines = existing === '' ? [] : existing.replace(/\n$/, '').split('\n')
  const begin = lines.findIndex((l) => l.startsWith(CRON_BEGIN))
  if (begin === -1) {
    const before = lines.length ? `${lines.join('\n')}\n` : ''
    return `${before}${block}`
  }
  const end = lines.findIndex((l, i) => i > begin && l.startsWith(CRON_END))
  if (end === -1) {
    throw new ConfigError(
      `Your crontab has '${CRON_BEGIN}' without '${CRON_END}', so the old block cannot be replaced safely.`,
      'Fix or remove it with crontab -e, then install again.',
    )
  }
  const keep = (part: string[]) => (part.length ? `${part.join('\n')}\n` : '')
  return `${keep(lines.slice(0, begin))}${block}${keep(lines.slice(end + 1))}`
}

// --- systemd -------------------------------------------------------------------------------------------

const SYSTEMD_SAFE = /^[A-Za-z0-9_@+=:,./-]+$/

/** Quotes one word of ExecStart: double quotes, C escapes, `%%` for specifiers and `$$` for variables. */
export function systemdQuote(word: string): string {
  if (word !== '' && SYSTEMD_SAFE.test(word)) return word
  const escaped = word.replace(/[\\"]/g, '\\$&').replaceAll('%', '%%').replaceAll('$', '$$$$')
  return `"${escaped}"`
}

/** The first line of every unit file this command writes; `--install` recognises its own files by it. */
export const UNIT_MARKER = '# Written by crypto-etl schedule'

/** Hardening that needs no user namespaces, so it works under `systemctl --user` everywhere. */
const HARDENING = [
  'NoNewPrivileges=yes',
  'UMask=0077',
  'LockPersonality=yes',
  'RestrictRealtime=yes',
  'RestrictSUIDSGID=yes',
  'SystemCallArchitectures=native',
]

function systemdUnits(g: ScheduledGroup, request: ScheduleRequest): UnitFile[] {
  const seconds = g.everyMs / 1000
  const header = `${UNIT_MARKER} (crypto-etl ${request.version}); \`crypto-etl schedule --install\` rewrites it.`
  const toFile = request.log !== 'syslog'
  const output = toFile
    ? [`StandardOutput=append:${request.log.replaceAll('%', '%%')}`]
    : ['SyslogIdentifier=crypto-etl']
  const argv = toFile && !hasFlag(g.argv, '--log-format') ? [...g.argv, '--log-format', 'json'] : g.argv
  const service = [
    header,
    '[Unit]',
    `Description=crypto-etl: load CoinCap ${g.datasets.join(',')}`,
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${argv.map(systemdQuote).join(' ')}`,
    `EnvironmentFile=${request.envFile.replaceAll('%', '%%')}`,
    // A run that outlives its cadence is stuck: stop it before the next one is due.
    `TimeoutStartSec=${formatDuration(Math.min(Math.floor(seconds * 0.9), 3600) * 1000)}`,
    ...output,
    ...HARDENING,
    '',
  ]
  const timer = [
    header,
    `# ${costComment(g)}`,
    '[Unit]',
    `Description=crypto-etl: ${g.datasets.join(',')} every ${g.every}`,
    '',
    '[Timer]',
    ...g.calendar.map((c) => `OnCalendar=${c}`),
    'Persistent=true',
    `RandomizedDelaySec=${formatDuration(Math.min(Math.floor(seconds / 10), 30) * 1000)}`,
    // The default accuracy of one minute would undo the stagger between cadences.
    'AccuracySec=1s',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ]
  return [
    { name: `${g.unit}.service`, text: service.join('\n') },
    { name: `${g.unit}.timer`, text: timer.join('\n') },
  ]
}

/** The shell commands that enable the timers after `--install`, and disable timers it no longer writes. */
export function systemctlCommands(schedule: Schedule, stale: readonly string[] = []): string[] {
  const timers = (schedule.units ?? []).filter((u) => u.name.endsWith('.timer')).map((u) => u.name)
  const staleTimers = stale.filter((name) => name.endsWith('.timer'))
  return [
    ...(staleTimers.length ? [`systemctl --user disable --now ${staleTimers.join(' ')}`] : []),
    'systemctl --user daemon-reload',
    `systemctl --user enable --now ${timers.join(' ')}`,
  ]
}

// --- Where things go, and what cron and systemd will not see -------------------------------------------

/** Default places: the env file, cron's log file, the folder of user units (XDG, as `systemctl --user` reads it). */
export function schedulePaths(env: NodeJS.ProcessEnv, home: string) {
  const config = env.XDG_CONFIG_HOME?.trim() || join(home, '.config')
  const state = env.XDG_STATE_HOME?.trim() || join(home, '.local', 'state')
  return {
    envFile: join(config, 'crypto-etl', 'env'),
    cronLog: join(state, 'crypto-etl', 'cron.log'),
    unitDir: join(config, 'systemd', 'user'),
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

/** Variables the settings read (and XDG_DATA_HOME, which moves the embedded database). */
const SETTING_VARIABLES = [...Object.keys(settingsSchema.shape).filter((k) => k !== 'DEBUG'), 'XDG_DATA_HOME']

/** Facts about this machine that the advice of `schedule` is made of. */
export interface ScheduleChecks {
  cli: string
  /** The CLI runs from npx's cache, which npm may clear. */
  npx: boolean
  envFileExists: boolean
  /** The env file is readable or writable by group or others. */
  envFileOpen: boolean
  /** Settings variables set in this shell and absent from the env file and the forwarded flags. */
  unseen: string[]
  /** The folder of the log file when it does not exist yet. */
  logDirMissing?: string
}

/** Looks at the env file, the shell's variables and the log folder. */
export async function checkScheduleEnvironment(
  schedule: Schedule,
  cli: string,
  env: NodeJS.ProcessEnv,
  forwardedVariables: readonly string[],
): Promise<ScheduleChecks> {
  const info = await stat(schedule.envFile).catch(() => undefined)
  const inFile = info ? Object.keys(parseEnvFile(await readFile(schedule.envFile, 'utf8').catch(() => ''))) : []
  const unseen = SETTING_VARIABLES.filter(
    (k) => env[k]?.trim() && !inFile.includes(k) && !forwardedVariables.includes(k),
  )
  const logDir = schedule.log === 'syslog' ? undefined : dirname(schedule.log)
  const logDirMissing = logDir && !(await stat(logDir).catch(() => undefined)) ? logDir : undefined
  return {
    cli,
    npx: cli.includes('/_npx/'),
    envFileExists: Boolean(info),
    envFileOpen: Boolean(info && (info.mode & 0o077) !== 0),
    unseen,
    logDirMissing,
  }
}

// --- Installing ----------------------------------------------------------------------------------------

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
export const userCrontab: CrontabIo = {
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
