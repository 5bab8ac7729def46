/**
 * `schedule`: cadences, crontab lines and systemd units for `run`, and what they cost. Building the schedule is
 * pure text from its inputs (paths, hostname, measured credits), so it is tested as exact strings; its parts
 * live next to this file: cadence planning (cadence.ts), the crontab block (cron.ts), the unit files
 * (systemd.ts), and the I/O of `--install` and the environment checks (install.ts).
 */
import { formatDuration } from '../config/time.js'
import {
  datasetsKey,
  estimateRunCredits,
  FREE_TIER_CREDITS,
  monthlyCredits,
  runsPerMonth,
  smallestPlan,
} from '../pipeline/costs.js'
import { cronField, crontabBlock } from './cron.js'
import { cadenceOfDatasets, staggerGroups } from './cadence.js'
import { pruneArgv, runArgv } from './run-args.js'
import type { Schedule, ScheduledGroup, ScheduleRequest } from './types.js'
import { bytesPerDay, bytesPerRun, SUGGESTED_RETENTION_DAYS } from '../pipeline/storage.js'
import { calendarField, systemdUnits } from './systemd.js'

export { mergeCrontab } from './cron.js'
export { checkCadence, parseDatasetEvery } from './cadence.js'
export { count } from './comments.js'
export {
  checkScheduleEnvironment,
  chooseLog,
  forwardedSettings,
  installCrontab,
  installRefusal,
  installSchedule,
  installUnits,
  otherScheduleInstalled,
  type ScheduleChecks,
  schedulePaths,
  writeSettingsTemplate,
} from './install.js'
export { hasFlag, splitRunArgs } from './run-args.js'
export {
  type RunFlagValues,
  SCHEDULE_FORMATS,
  type Schedule,
  type ScheduleFormat,
  type ScheduleRequest,
} from './types.js'
export { systemctlCommands } from './systemd.js'

/** Builds the schedule: groups, their cost, and the crontab block or the unit files. */
export function buildSchedule(request: ScheduleRequest): Schedule {
  const staggered = staggerGroups(cadenceOfDatasets(request), request)
  const several = staggered.length > 1
  const groups: ScheduledGroup[] = staggered.map((g) => {
    const key = datasetsKey(g.datasets)
    const measured = request.measured?.get(key)
    const perRun = measured?.credits ?? estimateRunCredits(g.datasets, request.selection)
    const storedPerRun = bytesPerRun(g.datasets, request.selection)
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
      storage: { perRun: storedPerRun, perDay: bytesPerDay(storedPerRun, g.everyMs) },
    }
  })
  const storagePerDay = groups.reduce((sum, g) => sum + g.storage.perDay, 0)
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
    storage: {
      perDay: storagePerDay,
      perMonth: storagePerDay * 30,
      retentionDays: SUGGESTED_RETENTION_DAYS,
      prune: pruneArgv(request),
    },
    envFile: request.envFile,
    log: request.log,
  }
  if (request.format === 'cron') schedule.crontab = crontabBlock(schedule, request)
  else schedule.units = groups.flatMap((g) => systemdUnits(g, request))
  return schedule
}
