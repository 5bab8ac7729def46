/** How `schedule` shows itself: the crontab block or unit files on stdout, costs and advice as lines for stderr. */
import { join } from 'node:path'
import { formatBytes } from '../core/bytes.js'
import { count, type Schedule, type ScheduleChecks, systemctlCommands } from '../schedule/schedule.js'

/** The schedule as the user would paste it: the crontab block, or each unit file under a `# <path>` line. */
export function formatScheduleText(schedule: Schedule, unitDir: string): string {
  if (schedule.crontab) return schedule.crontab.trimEnd()
  return (schedule.units ?? []).map((u) => `# ${join(unitDir, u.name)}\n${u.text.trimEnd()}`).join('\n\n')
}

/** The estimate, one cadence a line, then the total and the plan that covers it. */
export function formatCost(schedule: Schedule): string[] {
  const rows = schedule.groups.map((g) => ({
    cells: [g.datasets.join(','), `every ${g.every}`],
    numbers: [count(g.cost.perRun), count(g.cost.runsPerMonth), count(g.cost.perMonth)],
    source: g.cost.source === 'measured' ? `average of ${g.cost.runs} recent runs` : 'typical sizes',
  }))
  const width = (pick: (r: (typeof rows)[number]) => string) => Math.max(...rows.map((r) => pick(r).length))
  const w = [0, 1].map((i) => width((r) => r.cells[i]!))
  const n = [0, 1, 2].map((i) => width((r) => r.numbers[i]!))
  const lines = rows.map(({ cells, numbers: [run, runs, month], source }) =>
    [
      `  ${cells[0]!.padEnd(w[0]!)}  ${cells[1]!.padEnd(w[1]!)}`,
      `${run!.padStart(n[0]!)} a run × ${runs!.padStart(n[1]!)} runs = ${month!.padStart(n[2]!)}  (${source})`,
    ].join('  '),
  )
  const { perMonth, plan, planCredits } = schedule.cost
  const covered = plan
    ? `the ${plan} plan (${count(planCredits!)}) covers it`
    : 'more than the Enterprise plan (5,000,000)'
  return ['Estimated CoinCap credits (30-day month):', ...lines, `  total ${count(perMonth)} a month: ${covered}.`]
}

/** The storage the schedule adds, and the daily prune that bounds it. */
export function formatStorage(schedule: Schedule): string[] {
  const { perDay, perMonth, retentionDays, prune } = schedule.storage
  const where = schedule.crontab ? ' (the commented line in the block)' : ', e.g. from cron at 03:17'
  return [
    `Estimated storage: ~${formatBytes(perDay)} a day, ~${formatBytes(perMonth)} a month, growing until pruned.`,
    `  Keep ${retentionDays} days with a daily${where}: crypto-etl ${prune.slice(2).join(' ')}`,
  ]
}

/** A warning when the estimate exceeds `--budget`, or the free tier when no budget is given. */
export function costWarning(schedule: Schedule): string | undefined {
  const { perMonth, budget, overBudget, overFreeTier, plan } = schedule.cost
  const cheaper = 'Choose a longer cadence, fewer datasets, or fewer assets (--limit after --).'
  if (budget !== undefined) {
    return overBudget
      ? `${count(perMonth)} credits a month exceeds your budget of ${count(budget)}. ${cheaper}`
      : undefined
  }
  if (!overFreeTier) return undefined
  const need = plan ? `: it needs the ${plan} plan` : ''
  return `${count(perMonth)} credits a month exceeds CoinCap's free tier (4,000)${need}. ${cheaper}`
}

/** Advice about what cron and systemd will not have: the env file, shell variables, the log folder, npx. */
export function formatAdvice(schedule: Schedule, checks: ScheduleChecks): { warnings: string[]; notes: string[] } {
  const warnings: string[] = []
  const notes: string[] = []
  if (checks.npx) {
    warnings.push(
      `crypto-etl runs from npx's cache (${checks.cli}), which npm may clear: install it first (npm i -g crypto-etl) and schedule from there.`,
    )
  }
  if (!checks.envFileExists) {
    notes.push(
      `Create ${schedule.envFile} (chmod 600) with COINCAP_API_KEY=... and, for your own Postgres, DATABASE_URL=...: secrets belong there, never in a crontab or unit file.`,
    )
  } else if (checks.envFileOpen) {
    warnings.push(`${schedule.envFile} can be read by other users: chmod 600 ${schedule.envFile}`)
  }
  if (checks.unseen.length) {
    const them = checks.unseen.length > 1 ? 'them' : 'it'
    warnings.push(
      `${schedule.format} will not see ${checks.unseen.join(', ')} (set in this shell or given as flags): put ${them} in ${schedule.envFile}.`,
    )
  }
  if (checks.logDirMissing) notes.push(`Create the log folder first: mkdir -p ${checks.logDirMissing}`)
  if (schedule.format === 'systemd' && schedule.log === 'syslog')
    notes.push('Output goes to the journal: journalctl --user -t crypto-etl')
  return { warnings, notes }
}

/** What `--install` did and what is left for the user to run. */
export function formatInstalled(schedule: Schedule, installed: { replaced?: boolean; stale?: string[] }): string[] {
  if (schedule.format === 'cron') {
    return [
      `${installed.replaced ? 'Replaced the crypto-etl block in' : 'Added the crypto-etl block to'} your crontab (crontab -l shows it).`,
    ]
  }
  return [
    `Wrote ${(schedule.units ?? []).map((u) => u.name).join(', ')}. Now run:`,
    ...systemctlCommands(schedule, installed.stale).map((c) => `  ${c}`),
    ...(installed.stale?.length ? [`Then remove the old unit files: ${installed.stale.join(' ')}`] : []),
  ]
}

/** What `--init` did. */
export function formatInit(envFile: string, wrote: boolean): string {
  return wrote
    ? `Wrote ${envFile} (mode 600): set COINCAP_API_KEY in it (and DATABASE_URL for your own Postgres).`
    : `${envFile} exists: left as it is.`
}

/** The warning when the other scheduler already runs crypto-etl: both would run every cadence. */
export function doubleRunWarning(format: Schedule['format'], other: readonly string[]): string {
  return format === 'cron'
    ? `systemd timers of crypto-etl are installed too (${other.join(', ')}): both would run. Keep one: systemctl --user disable --now ${other.join(' ')}`
    : 'Your crontab has a crypto-etl block too: both would run. Keep one: remove the block with crontab -e'
}
