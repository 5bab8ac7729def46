/**
 * Cadence planning for `schedule`: which cadences cron and systemd can run evenly, which datasets share one,
 * and the minutes of the day each group fires at, staggered apart. Pure arithmetic, no I/O.
 */
import { createHash } from 'node:crypto'
import { formatDuration, parseDuration } from '../config/time.js'
import { UsageError } from '../core/errors.js'
import { DEFAULT_DATASETS, SNAPSHOT_DATASETS, type SnapshotDataset } from '../catalogue/index.js'
import type { ScheduleFormat, ScheduleRequest } from './types.js'

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
export interface CalendarEntry {
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

/** Each dataset's cadence, grouped: `--every` for the `--datasets` set, `--dataset-every` per dataset. */
export function cadenceOfDatasets(request: ScheduleRequest): Map<number, SnapshotDataset[]> {
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
export function staggerGroups(groups: Map<number, SnapshotDataset[]>, request: ScheduleRequest) {
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

/** `first` and `step` when `values` step evenly (two or more of them), else undefined. */
export function progression(values: readonly number[]): { first: number; step: number } | undefined {
  if (values.length < 2) return undefined
  const step = values[1]! - values[0]!
  return values.every((v, i) => v === values[0]! + i * step) ? { first: values[0]!, step } : undefined
}
