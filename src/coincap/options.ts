/** Options of the CoinCap client, their defaults and their checks. */
import { ConfigError } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import { silentLogger } from '../core/log.js'
import { maskUrl } from '../core/secrets.js'
import { DEFAULT_API_URL } from '../config/settings-table.js'

/** The current CoinCap API: the default of --api-url / COINCAP_API_URL. */
export { DEFAULT_API_URL }

/** CoinCap's rate limit on every plan, in calls per minute; the client stays below it. */
const COINCAP_CALLS_PER_MINUTE = 600

/** The largest `limit` CoinCap documents (for `/assets`). */
const MAX_PAGE_SIZE = 2000

/** Options of {@link CoincapClient}. Every one has a default but `apiKey`, which is only needed once a request is made. */
export interface CoincapClientOptions {
  /** Sent as `Authorization: Bearer <key>`, never in the URL. Missing: exit 77 at the first request. */
  apiKey?: string | undefined
  /** Base URL. Default {@link DEFAULT_API_URL}. */
  apiUrl?: string | undefined
  /** Time limit of one attempt, in ms. Default 30,000. */
  timeoutMs?: number
  /** Retries after the first attempt (429, 5xx, timeouts, resets, unparseable 2xx bodies). Default 5. */
  retries?: number
  /** First computed backoff, doubled on each retry, before jitter. Default 1,000 ms. */
  retryBaseMs?: number
  /** Ceiling of a computed backoff (not of `Retry-After`). Default 30,000 ms. */
  retryMaxDelayMs?: number
  /** A single wait longer than this (computed or `Retry-After`) ends the call with exit 69 instead. Default 60,000 ms. */
  maxWaitMs?: number
  /** Total waiting across the retries of one call beyond this ends it with exit 69. Default 120,000 ms. */
  maxTotalWaitMs?: number
  /** Attempts allowed per minute (every attempt takes a token); at most 600. Default 500. */
  requestsPerMinute?: number
  /** Attempts in flight at once. Default 4. */
  concurrency?: number
  /** `limit` of each page of a paged endpoint, 1 to 2,000. Default 2,000. */
  pageSize?: number
  /** Whether answers cost CoinCap credits: false for the bundled demo answers (counted as 0 credits). Default true. */
  billed?: boolean
  /** `User-Agent` header. Default `crypto-etl`. */
  userAgent?: string
  /** Debug line per attempt, warning per retry. Default: silent. */
  log?: Logger
  /** Waits between attempts; must reject (or return early) when `signal` aborts. Default: a timer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  /** Clock for `Retry-After` dates and durations, in Unix ms. Default `Date.now`. */
  now?: () => number
  /** Source of jitter in [0, 1). Default `Math.random`. */
  random?: () => number
  /** Aborting stops waiting and in-flight requests and starts no new one; calls reject with `signal.reason`. */
  signal?: AbortSignal | undefined
}

/** Options with every default applied. */
export type ResolvedOptions = Required<Omit<CoincapClientOptions, 'apiKey' | 'signal'>> &
  Pick<CoincapClientOptions, 'apiKey' | 'signal'>

/** A timer that rejects with `signal.reason` when aborted. */
export function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

function check(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(
      `Invalid CoinCap client option ${name}: ${value} (expected an integer from ${min} to ${max}).`,
    )
  }
  return value
}

/** Applies defaults and checks ranges; a bad value or URL is a {@link ConfigError} (exit 78). */
export function resolveOptions(options: CoincapClientOptions): ResolvedOptions {
  const apiUrl = options.apiUrl || DEFAULT_API_URL
  let parsed: URL
  try {
    parsed = new URL(apiUrl)
  } catch {
    throw new ConfigError(`Invalid CoinCap API URL: ${maskUrl(apiUrl)}.`, `Use e.g. ${DEFAULT_API_URL}.`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(
      `Invalid CoinCap API URL: ${maskUrl(apiUrl)} (not http or https).`,
      `Use e.g. ${DEFAULT_API_URL}.`,
    )
  }
  return {
    apiKey: options.apiKey || undefined,
    apiUrl,
    timeoutMs: check('timeoutMs', options.timeoutMs ?? 30_000, 1),
    retries: check('retries', options.retries ?? 5, 0, 100),
    retryBaseMs: check('retryBaseMs', options.retryBaseMs ?? 1000, 0),
    retryMaxDelayMs: check('retryMaxDelayMs', options.retryMaxDelayMs ?? 30_000, 0),
    maxWaitMs: check('maxWaitMs', options.maxWaitMs ?? 60_000, 0),
    maxTotalWaitMs: check('maxTotalWaitMs', options.maxTotalWaitMs ?? 120_000, 0),
    requestsPerMinute: check('requestsPerMinute', options.requestsPerMinute ?? 500, 1, COINCAP_CALLS_PER_MINUTE),
    concurrency: check('concurrency', options.concurrency ?? 4, 1, 64),
    pageSize: check('pageSize', options.pageSize ?? MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE),
    billed: options.billed ?? true,
    userAgent: options.userAgent ?? 'crypto-etl',
    log: options.log ?? silentLogger,
    sleep: options.sleep ?? timerSleep,
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    signal: options.signal,
  }
}
