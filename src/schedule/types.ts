/** The shapes of a schedule: what the user asks `schedule` for, and what it builds (what `--json` prints). */
import type { MeasuredCredits, RunSelection } from '../pipeline/costs.js'
import type { SnapshotDataset } from '../catalogue/index.js'

export type ScheduleFormat = 'cron' | 'systemd'
export const SCHEDULE_FORMATS = ['cron', 'systemd'] as const

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
  /** Estimated bytes the warehouse grows by, from measured bytes per row and typical answer sizes. */
  storage: { perRun: number; perDay: number }
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
  /** Bytes a day and a 30-day month, and the daily `prune` that keeps it bounded. */
  storage: { perDay: number; perMonth: number; retentionDays: number; prune: string[] }
  envFile: string
  log: string
  /** The crontab block (cron). */
  crontab?: string
  /** The service and timer files (systemd). */
  units?: UnitFile[]
}
