/** The systemd user units of a schedule (a service and a timer per group), and the systemctl commands to enable them. */
import { ENV_FILE_VARIABLE } from '../config/settings-file.js'
import { formatDuration } from '../config/time.js'
import { progression } from './cadence.js'
import { costComment } from './comments.js'
import { hasFlag } from './run-args.js'
import type { Schedule, ScheduledGroup, ScheduleRequest, UnitFile } from './types.js'

/** An OnCalendar field: `*`, `03/5`, `17` or `01,31`. */
export function calendarField(values: readonly number[], max: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  const p = progression(values)
  if (p && values.at(-1)! + p.step > max) {
    return p.step === 1 && p.first === 0 ? '*' : `${pad(p.first)}/${p.step}`
  }
  return values.map(pad).join(',')
}

const SYSTEMD_SAFE = /^[A-Za-z0-9_@+=:,./-]+$/

/** Quotes one word of ExecStart: double quotes, C escapes, `%%` for specifiers and `$$` for variables. */
function systemdQuote(word: string): string {
  if (word !== '' && SYSTEMD_SAFE.test(word)) return word
  const escaped = word.replace(/[\\"]/g, '\\$&').replaceAll('%', '%%').replaceAll('$', '$$$$')
  return `"${escaped}"`
}

/** One `Environment=` assignment, quoted when needed (no `$` expansion there, but `%` specifiers). */
function systemdAssignment(name: string, value: string): string {
  const assignment = `${name}=${value}`.replaceAll('%', '%%')
  return SYSTEMD_SAFE.test(assignment) ? assignment : `"${assignment.replace(/[\\"]/g, '\\$&')}"`
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

/** One group's service and timer files. */
export function systemdUnits(g: ScheduledGroup, request: ScheduleRequest): UnitFile[] {
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
    // crypto-etl reads the settings file itself (not EnvironmentFile=): one parser for shell, cron and systemd,
    // and a missing file is its exit 78 naming the file, not a unit that fails before it starts.
    `Environment=${systemdAssignment(ENV_FILE_VARIABLE, request.envFile)}`,
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
