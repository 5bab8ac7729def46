/**
 * Durations (`90s`, `15m`, `1h`, `30d`, `2w`) and times (ISO 8601 dates, or a duration meaning "that long
 * ago"), as the command-line contract spells them.
 */

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const

/** Parses `90s`, `15m`, `1h`, `30d`, `2w` into milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)([smhdw])$/.exec(text.trim())
  if (!match) return undefined
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined
}

/** Parses an ISO 8601 date or date-time (`2025-01-01`, `2025-01-01T12:00Z`); a date alone is UTC midnight. */
export function parseIsoDate(text: string): Date | undefined {
  const value = text.trim()
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/
  if (!iso.test(value)) return undefined
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value)
  if (Number.isNaN(date.getTime())) return undefined
  // Reject dates JavaScript silently rolls over, such as 2025-02-30.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number)
  const probe = new Date(Date.UTC(y!, m! - 1, d!))
  return probe.getUTCMonth() === m! - 1 && probe.getUTCDate() === d ? date : undefined
}

/**
 * The times a command accepts: years 1 to 9999, what an ISO date spells and what Postgres stores. A
 * duration far enough back (`100000000d`) would otherwise reach a year JavaScript holds and Postgres refuses.
 */
const TIME_RANGE = { from: Date.parse('0001-01-01T00:00:00Z'), to: Date.parse('9999-12-31T23:59:59.999Z') }

/** Whether `time` is within {@link TIME_RANGE}. */
function inTimeRange(time: Date): boolean {
  return time.getTime() >= TIME_RANGE.from && time.getTime() <= TIME_RANGE.to
}

/**
 * A point in time from a date, or from a duration counted back from `now`. Undefined when neither, or when
 * it falls outside {@link TIME_RANGE}.
 */
export function parseTime(text: string, now: Date = new Date()): Date | undefined {
  const ms = parseDuration(text)
  const time = ms !== undefined ? new Date(now.getTime() - ms) : parseIsoDate(text)
  return time && inTimeRange(time) ? time : undefined
}

/** `3_600_000` → `1h`, `90_000` → `1m30s`: short, for messages. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  const parts: string[] = []
  let rest = Math.round(ms / 1000)
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  return parts.slice(0, 2).join('')
}
