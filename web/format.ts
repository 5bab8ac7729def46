/**
 * How the page shows values. Decimals arrive as the exact strings the warehouse stores and are formatted
 * from those strings (Intl.NumberFormat reads a decimal string exactly), never through a float.
 */

type Decimal = `${number}`

const fixed2 = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const small = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 })
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 })
const percent = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
  signDisplay: 'exceptZero',
})
const share = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

const DECIMAL = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i

function isDecimal(value: unknown): value is Decimal {
  return typeof value === 'string' && DECIMAL.test(value)
}

/** Whether a decimal string is below 1 in size (`-0.5`, `0.00001`). */
function belowOne(value: string): boolean {
  return /^-?0(\.|$)/.test(value)
}

/** A price: two decimals from 1 up (80,800.00), four significant digits below (0.00001197). */
export function formatPrice(value: unknown): string {
  if (!isDecimal(value)) return '–'
  return belowOne(value) ? small.format(value) : fixed2.format(value)
}

/** A large amount (market cap, volume) in short form: 1.6T, 35.12B. */
export function formatAmount(value: unknown): string {
  return isDecimal(value) ? compact.format(value) : '–'
}

/** A change in percent with its sign: +2.35%, -1.50%. */
export function formatChange(value: unknown): string {
  return isDecimal(value) ? `${percent.format(value)}%` : '–'
}

/** A share in percent: 40.12%. */
export function formatShare(value: unknown): string {
  return isDecimal(value) ? `${share.format(value)}%` : '–'
}

/** A whole number with separators: 1,500. */
export function formatCount(value: unknown): string {
  return typeof value === 'number' || isDecimal(value) ? whole.format(value as number) : '–'
}

/** A time as the warehouse's reports show it, in UTC: 2025-11-22 12:00:00Z. */
export function formatTime(iso: unknown): string {
  if (typeof iso !== 'string') return '–'
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
}

/** An age in the largest units that say it: 45s, 12m, 3h 5m, 2d 4h. */
export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`
}

/**
 * Orders two decimal strings exactly (for sorting a column): sign, then integer digits, then the rest.
 * Non-decimals (null) sort last.
 */
export function compareDecimals(a: unknown, b: unknown): number {
  const da = isDecimal(a) && !/e/i.test(a)
  const db = isDecimal(b) && !/e/i.test(b)
  if (!da || !db) return da === db ? 0 : da ? -1 : 1
  const negA = a.startsWith('-')
  const negB = b.startsWith('-')
  if (negA !== negB) return negA ? -1 : 1
  const magnitude = compareMagnitude(negA ? a.slice(1) : a, negB ? b.slice(1) : b)
  return negA ? -magnitude : magnitude
}

function compareMagnitude(a: string, b: string): number {
  const [ia = '', fa = ''] = a.split('.')
  const [ib = '', fb = ''] = b.split('.')
  const inta = ia.replace(/^0+(?=\d)/, '')
  const intb = ib.replace(/^0+(?=\d)/, '')
  if (inta.length !== intb.length) return inta.length - intb.length
  if (inta !== intb) return inta < intb ? -1 : 1
  const width = Math.max(fa.length, fb.length)
  const fracA = fa.padEnd(width, '0')
  const fracB = fb.padEnd(width, '0')
  return fracA === fracB ? 0 : fracA < fracB ? -1 : 1
}
