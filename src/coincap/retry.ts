/**
 * Retries: p-retry is their one owner. Its own delays are zeroed because it has no injectable clock; the
 * wait (exponential backoff with jitter, or `Retry-After`) is computed and slept here, in `onFailedAttempt`,
 * through the injected `sleep`, so tests assert exact waits without sleeping.
 */
import pRetry from 'p-retry'
import { ApiUnavailableError } from '../core/errors.js'
import type { ResolvedOptions } from './options.js'
import type { StatsCounter } from './stats.js'

/** A failure worth another attempt: 429, 5xx, a timeout, a reset, an unparseable 2xx body. */
export class TransientError extends Error {
  /**
   * @param message what happened, for the user, e.g. "CoinCap answered 503 with an HTML page"
   * @param retryAfterMs the server's `Retry-After`, when it gave one (0 is no hint)
   */
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'TransientError'
  }
}

/** `Retry-After` in ms from seconds or an HTTP date; undefined when absent, unreadable, zero or past (no hint). */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : Date.parse(text) - now
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms) : undefined
}

/** The computed wait before retry number `retry` (1-based): `base * 2^(retry-1)`, capped, then "equal jitter" (half fixed, half random). */
export function backoffMs(retry: number, options: Pick<ResolvedOptions, 'retryBaseMs' | 'retryMaxDelayMs' | 'random'>) {
  const ceiling = Math.min(options.retryMaxDelayMs, options.retryBaseMs * 2 ** (retry - 1))
  return Math.round(ceiling / 2 + (options.random() * ceiling) / 2)
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`

const TRANSIENT_HINT = 'Usually transient: the next run may well succeed. If it lasts, check the network and --api-url.'

/**
 * Runs `attempt` until it succeeds, fails with a non-transient error (thrown as is), or retries run out.
 * Exhausted retries and waits beyond `maxWaitMs`/`maxTotalWaitMs` become {@link ApiUnavailableError} (exit 69)
 * naming `request`. An abort rejects with `signal.reason`.
 */
export async function withRetries<T>(
  request: string,
  attempt: () => Promise<T>,
  options: ResolvedOptions,
  stats: StatsCounter,
): Promise<T> {
  const { log, signal } = options
  let attempts = 0
  let waited = 0
  const giveUp = (message: string, cause: Error) => new ApiUnavailableError(message, TRANSIENT_HINT, { cause })
  try {
    return await pRetry(
      () => {
        attempts += 1
        return attempt()
      },
      {
        retries: options.retries,
        minTimeout: 0,
        maxTimeout: 0,
        randomize: false,
        signal,
        shouldRetry: ({ error }) => error instanceof TransientError,
        onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
          if (!(error instanceof TransientError) || retriesLeft === 0) return
          const wait = error.retryAfterMs ?? backoffMs(attemptNumber, options)
          const source = error.retryAfterMs === undefined ? 'backoff' : 'Retry-After'
          if (wait > options.maxWaitMs) {
            throw giveUp(
              `CoinCap is unavailable: ${request} failed (${error.message}) and the next try would wait ${seconds(wait)} (${source}), beyond the ${seconds(options.maxWaitMs)} cap.`,
              error,
            )
          }
          if (waited + wait > options.maxTotalWaitMs) {
            throw giveUp(
              `CoinCap is unavailable: ${request} failed ${attempts} times (last: ${error.message}); waiting ${seconds(wait)} more would pass the ${seconds(options.maxTotalWaitMs)} total cap.`,
              error,
            )
          }
          waited += wait
          log.warn('CoinCap request failed; retrying', {
            request,
            error: error.message,
            attempt: attemptNumber,
            waitMs: wait,
            source,
          })
          await options.sleep(wait, signal)
          signal?.throwIfAborted()
          stats.retry(wait)
        },
      },
    )
  } catch (error) {
    if (error instanceof TransientError) {
      throw giveUp(`CoinCap is unavailable: ${request} failed ${attempts} times; last: ${error.message}.`, error)
    }
    throw error
  }
}
