/**
 * Numbers and times for people: exact decimal strings (as Postgres `numeric` arrives) rounded for display
 * with string and BigInt arithmetic, never through a JS number, so what is shown is the stored value rounded.
 */
import { formatDuration } from '../config/time.js'

const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?$/

interface Parts {
  negative: boolean
  int: string
  frac: string
}

function parse(value: string): Parts | undefined {
  const match = DECIMAL.exec(value.trim())
  if (!match || (!match[2] && !match[3])) return undefined
  return { negative: match[1] === '-', int: (match[2] || '0').replace(/^0+(?=\d)/, ''), frac: match[3] ?? '' }
}

/** -1, 0 or 1: the sign of a decimal string (0 for anything that is not a number). */
export function decimalSign(value: string): -1 | 0 | 1 {
  const p = parse(value)
  if (!p || /^0*$/.test(p.int + p.frac)) return 0
  return p.negative ? -1 : 1
}

/** Groups an unsigned digit string by thousands: `1234567` → `1,234,567`. */
function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/**
 * Rounds a decimal string to `places` decimals, half away from zero, grouping thousands:
 * `roundDecimal('80399.575', 2)` → `80,399.58`. Values that are not decimals (NaN, Infinity) come back as given.
 */
export function roundDecimal(value: string, places: number, group = true): string {
  const p = parse(value)
  if (!p) return value
  const kept = BigInt(p.int + p.frac.padEnd(places, '0').slice(0, places))
  const rounded = (p.frac[places] ?? '0') >= '5' ? kept + 1n : kept
  const digits = rounded.toString().padStart(places + 1, '0')
  const int = digits.slice(0, digits.length - places)
  const frac = digits.slice(digits.length - places)
  const sign = p.negative && rounded !== 0n ? '-' : ''
  return `${sign}${group ? groupThousands(int) : int}${places > 0 ? `.${frac}` : ''}`
}

/** Decimals needed to show `significant` digits of a value below 1 (0.0001234 → 7 for 4 digits). */
function placesForSignificant(p: Parts, significant: number): number {
  const firstNonZero = p.frac.search(/[1-9]/)
  return firstNonZero < 0 ? 2 : firstNonZero + significant
}

function isBelowOne(p: Parts): boolean {
  return /^0*$/.test(p.int)
}

/** A price: 2 decimals from 1 up (`80,399.57`), 4 significant digits below 1 (`0.00001234`). */
export function formatPrice(value: string | null | undefined): string {
  if (value === null || value === undefined) return ''
  const p = parse(value)
  if (!p) return value
  return roundDecimal(value, isBelowOne(p) ? placesForSignificant(p, 4) : 2)
}

/** Moves the decimal point `n` places left: exact division by 10^n on a decimal string. */
function shiftLeft(p: Parts, n: number): string {
  const int = p.int.padStart(n + 1, '0')
  const cut = int.length - n
  return `${p.negative ? '-' : ''}${int.slice(0, cut)}.${int.slice(cut)}${p.frac}`
}

const SUFFIXES = [
  [12, 'T'],
  [9, 'B'],
  [6, 'M'],
] as const

/** A large amount (market cap, volume): `1.59T`, `36.12B`, `4.50M`; below a million `523,456.79`. */
export function formatAmount(value: string | null | undefined): string {
  if (value === null || value === undefined) return ''
  const p = parse(value)
  if (!p) return value
  const intDigits = p.int.replace(/^0+/, '').length
  for (const [exponent, suffix] of SUFFIXES) {
    if (intDigits > exponent) return `${roundDecimal(shiftLeft(p, exponent), 2)}${suffix}`
  }
  return roundDecimal(value, 2)
}

/** A percentage with its sign and 2 decimals: `+2.35%`, `-0.12%`, `0.00%`. */
export function formatPercent(value: string | null | undefined): string {
  if (value === null || value === undefined) return ''
  if (!parse(value)) return value
  const rounded = roundDecimal(value, 2)
  return `${decimalSign(rounded.replace(/,/g, '')) > 0 ? '+' : ''}${rounded}%`
}

/** Any other decimal: integers grouped, fractions to at most 6 places (4 significant digits below 1), trailing zeros dropped. */
export function formatDecimal(value: string | null | undefined): string {
  if (value === null || value === undefined) return ''
  const p = parse(value)
  if (!p) return value
  const places = isBelowOne(p) ? Math.max(6, placesForSignificant(p, 4)) : 6
  return roundDecimal(value, places)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '')
}

/** A count with thousands separators; bigint columns arrive as strings. */
export function formatInteger(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return ''
  const text = typeof value === 'number' ? String(Math.round(value)) : value
  const match = /^(-?)(\d+)$/.exec(text)
  return match ? `${match[1]}${groupThousands(match[2]!)}` : text
}

/**
 * A count and its noun in agreement: `plural(1, 'point')` → `1 point`, `plural(2160, 'row')` → `2,160 rows`.
 * `many` is for nouns that do not just take an s.
 */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatInteger(count)} ${count === 1 ? one : many}`
}

/** A UTC time to the second: `2025-11-22 12:00:00Z`. */
export function formatTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return ''
  const date = value instanceof Date ? value : new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`
}

/** An age or a duration in milliseconds: `2h5m`, `45s`, `120ms`. */
export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return ''
  return formatDuration(Math.max(0, ms))
}

/** Colour only for a terminal, and never when NO_COLOR is set to anything (https://no-color.org). */
export function colorEnabled(
  stream: { isTTY?: boolean } = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return stream.isTTY === true && !env.NO_COLOR
}

/** Paints a gain green and a loss red when `color` is on; `sign` is the value's sign. */
export function paintChange(text: string, sign: number, color: boolean): string {
  if (!color || sign === 0) return text
  return sign > 0 ? `\u001b[32m${text}\u001b[39m` : `\u001b[31m${text}\u001b[39m`
}
