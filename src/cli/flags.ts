/** Custom flag types shared by commands: durations, times and comma-separated lists, validated at parse time (exit 2). */
import { Flags } from '@oclif/core'
import { parseDuration, parseIsoDate, parseTime } from '../config/time.js'
import { assetIdProblem } from '../coincap/datasets.js'

/** The message for `0d` and the like, which read as a duration but mean nothing (or everything). */
function zeroDuration(input: string): string | undefined {
  return /^\s*0+[smhdw]\s*$/.test(input) ? `'${input}' must be more than 0, e.g. 30d.` : undefined
}

/** A duration such as `90s`, `15m`, `1h`, `30d`, `2w`, parsed to milliseconds. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => {
    const zero = zeroDuration(input)
    if (zero) throw new Error(zero)
    const ms = parseDuration(input)
    if (ms === undefined) throw new Error(`'${input}' is not a duration; use e.g. 90s, 15m, 1h, 30d, 2w.`)
    return ms
  },
})

/** A time: an ISO 8601 date (`2025-01-01`, `2025-01-01T12:00Z`) or a duration meaning that long ago. */
export const timeFlag = Flags.custom<Date>({
  parse: async (input) => {
    const zero = zeroDuration(input)
    if (zero) throw new Error(`${zero.slice(0, -1)}, or a date.`)
    const time = parseTime(input)
    if (time) return time
    if (parseDuration(input) !== undefined || parseIsoDate(input)) {
      throw new Error(`'${input}' is out of range: give a time between the years 1 and 9999.`)
    }
    throw new Error(`'${input}' is neither a date (2025-01-01, 2025-01-01T12:00Z) nor a duration (30d).`)
  },
})

/**
 * The largest count a flag takes where nothing smaller applies (`query --limit`): far above any real use,
 * and a number every layer (JavaScript, Postgres's int) holds exactly, so a huge value is a usage error.
 */
export const MAX_COUNT = 1_000_000_000

/** A comma-separated list, trimmed, empty items dropped; `allowed` restricts the values. */
export function listFlag<const T extends string>(allowed?: readonly T[], check?: (item: string) => string | undefined) {
  return Flags.custom<T[]>({
    parse: async (input) => {
      const items = [
        ...new Set(
          input
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        ),
      ]
      if (items.length === 0) throw new Error('Expected a comma-separated list.')
      if (allowed) {
        const unknown = items.filter((i) => !allowed.includes(i as T))
        if (unknown.length) throw new Error(`Unknown value '${unknown[0]}'; expected one of ${allowed.join(', ')}.`)
      }
      const problem = check && items.map(check).find(Boolean)
      if (problem) throw new Error(problem)
      return items as T[]
    },
  })
}

/** A comma-separated list of asset ids (`--assets bitcoin,ethereum`). */
export const assetIdsFlag = () => listFlag<string>(undefined, assetIdProblem)
