/** The crontab block of a schedule, and how it replaces the previous one in a crontab: pure text, no I/O. */
import { ENV_FILE_VARIABLE } from '../config/settings-file.js'
import { ConfigError } from '../core/errors.js'
import { progression } from './cadence.js'
import { costComment, storageComment, totalComment } from './comments.js'
import { hasFlag } from './run-args.js'
import type { Schedule, ScheduleRequest } from './types.js'

/** A cron field: `*`, `*\/5`, `3-59/5`, `17` or `1,31`. */
export function cronField(values: readonly number[], max: number): string {
  const p = progression(values)
  if (p && values.at(-1)! + p.step > max) {
    if (p.step === 1 && p.first === 0) return '*'
    return p.first === 0 ? `*/${p.step}` : `${p.first}-${max}/${p.step}`
  }
  return values.join(',')
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/

/** Quotes one word for /bin/sh: as it is when safe, else in single quotes. */
function shellQuote(word: string): string {
  return word !== '' && SHELL_SAFE.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}

/** When the suggested daily prune runs: at night, away from the top of the hour. */
const PRUNE_TIME = '17 3 * * *'

/** The markers of the block `--install` owns in a crontab. */
export const CRON_BEGIN = '# BEGIN crypto-etl'
const CRON_END = '# END crypto-etl'

function cronCommand(argv: readonly string[], request: ScheduleRequest): string {
  argv = [...argv]
  const toFile = request.log !== 'syslog'
  // Cron's log file has no timestamps of its own: JSON log lines carry theirs.
  if (toFile && !hasFlag(argv, '--log-format')) argv = [...argv, '--log-format', 'json']
  const redirect = toFile
    ? `>> ${shellQuote(request.log)} 2>&1`
    : `2>&1 | ${shellQuote(request.loggerPath ?? 'logger')} -t crypto-etl`
  // The settings file is named by a variable, not by --env-file: Node takes that flag for itself even after
  // the script's name and exits 9 when the file is missing, where crypto-etl says so and exits 78.
  const settings = `${ENV_FILE_VARIABLE}=${shellQuote(request.envFile)}`
  // An unescaped % ends a crontab command (cron turns it into a newline); cron removes the backslash.
  return `${settings} ${argv.map(shellQuote).join(' ')} ${redirect}`.replaceAll('%', '\\%')
}

/** The block `--install` puts into the crontab: a header, then each group's cost comment and cron lines. */
export function crontabBlock(schedule: Schedule, request: ScheduleRequest): string {
  const output = request.log === 'syslog' ? 'syslog (logger -t crypto-etl)' : request.log
  const lines = [
    `${CRON_BEGIN}: written by crypto-etl ${request.version} schedule; \`crypto-etl schedule --install\` replaces this block`,
    `# Settings and secrets: ${request.envFile}. Output: ${output}`,
  ]
  for (const g of schedule.groups) {
    lines.push(`# ${costComment(g)}`)
    for (const time of g.calendar) lines.push(`${time} ${cronCommand(g.argv, request)}`)
  }
  lines.push(`# ${totalComment(schedule)}`)
  // Commented out: deleting data is the user's decision, not a side effect of installing a schedule.
  lines.push(`# ${storageComment(schedule)}; to keep ${schedule.storage.retentionDays} days, uncomment:`)
  lines.push(`# ${PRUNE_TIME} ${cronCommand(schedule.storage.prune, request)}`, CRON_END)
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
