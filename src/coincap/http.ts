/**
 * The HTTP layer: one got instance (no retries of its own, no thrown HTTP errors), one bottleneck limiter
 * that every attempt goes through, p-retry around each call, counting and logging of every attempt.
 */
import Bottleneck from 'bottleneck'
import got, { type Got, RequestError, TimeoutError } from 'got'
import { ApiAuthError, EtlError } from '../core/errors.js'
import { maskSecrets } from '../core/secrets.js'
import type { ResolvedOptions } from './options.js'
import { interpretAnswer, type ListEnvelope, oneLine, type RawAnswer, trustedTimestamp } from './responses.js'
import { TransientError, withRetries } from './retry.js'
import { isBilled, type StatsCounter } from './stats.js'
import type { Dataset } from '../catalogue/index.js'

/** One logical GET (retries included). */
export interface RequestSpec {
  dataset: Dataset
  /** Path under the base URL without a leading slash, e.g. `assets/bitcoin/history`. */
  path: string
  /** Query parameters; undefined ones are left out. */
  query?: Record<string, string | number | undefined>
  /** The message for a 404, given CoinCap's error text. */
  notFound?: (apiError: string | undefined) => string
  /** Accept an answer without `timestamp`, stamping it with the local clock (history: a captured answer lacked it). */
  timestampOptional?: boolean
}

/** Rejects with `signal.reason` as soon as `signal` aborts, without waiting for `promise`. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  promise.catch(() => {})
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Sends CoinCap requests for one client. */
export class Transport {
  readonly #got: Got
  readonly #limiter: Bottleneck
  readonly #options: ResolvedOptions
  readonly #stats: StatsCounter

  constructor(options: ResolvedOptions, stats: StatsCounter) {
    this.#options = options
    this.#stats = stats
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': options.userAgent }
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`
    this.#got = got.extend({
      prefixUrl: options.apiUrl,
      headers,
      timeout: { request: options.timeoutMs },
      // p-retry is the one owner of retries; got would otherwise retry twice on its own.
      retry: { limit: 0 },
      throwHttpErrors: false,
    })
    this.#limiter = new Bottleneck({
      maxConcurrent: options.concurrency,
      reservoir: options.requestsPerMinute,
      reservoirRefreshAmount: options.requestsPerMinute,
      reservoirRefreshInterval: 60_000,
    })
  }

  /** GETs a list answer, with retries; errors are typed (see `interpretAnswer`) and free of the key. */
  async get(spec: RequestSpec): Promise<ListEnvelope> {
    const searchParams = new URLSearchParams()
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) searchParams.set(key, String(value))
    }
    const query = searchParams.toString()
    const path = `/${spec.path}${query ? `?${query}` : ''}`
    const request = `GET ${path}`
    try {
      if (!this.#options.apiKey) {
        throw new ApiAuthError(
          `No CoinCap API key: ${request} needs one (CoinCap v3 wants a key for every call).`,
          'Set COINCAP_API_KEY or pass --api-key; keys come from https://pro.coincap.io/dashboard.',
        )
      }
      const attempt = () => this.#attempt(spec, searchParams, path)
      return await withRetries(request, attempt, this.#options, this.#stats)
    } catch (error) {
      // Belt and braces: no message should ever hold the key, but one built from a server's text could.
      if (error instanceof EtlError) error.message = this.#mask(error.message)
      throw error
    }
  }

  #mask(text: string): string {
    return maskSecrets(text, [this.#options.apiKey])
  }

  /** One attempt through the limiter; `path` (with its query) is for logs and messages. */
  async #attempt(spec: RequestSpec, searchParams: URLSearchParams, path: string): Promise<ListEnvelope> {
    const { log, now, signal } = this.#options
    const started = now()
    let raw: RawAnswer
    try {
      raw = await abortable(
        this.#limiter.schedule(async () => {
          signal?.throwIfAborted()
          const response = await this.#got.get(spec.path, { searchParams, signal, responseType: 'buffer' })
          return { status: response.statusCode, headers: response.headers, body: response.body }
        }),
        signal,
      )
    } catch (error) {
      signal?.throwIfAborted()
      if (!(error instanceof RequestError)) throw error
      this.#stats.attempt(spec.dataset, undefined)
      const why =
        error instanceof TimeoutError
          ? `timeout after ${this.#options.timeoutMs} ms`
          : error.code && error.code !== 'ERR_GOT_REQUEST_ERROR'
            ? error.code
            : this.#mask(oneLine(error.message)) || 'connection error'
      log.debug('CoinCap request', { method: 'GET', path, error: why, ms: now() - started })
      // No `cause`: got's error carries the request options, Authorization header included.
      throw new TransientError(`no answer from CoinCap (${why})`)
    }
    this.#stats.attempt(spec.dataset, raw.body.length, this.#options.billed && isBilled(raw.status))
    log.debug('CoinCap request', {
      method: 'GET',
      path,
      status: raw.status,
      bytes: raw.body.length,
      ms: now() - started,
    })
    const context = {
      request: `GET ${path}`,
      now: now(),
      mask: (text: string) => this.#mask(text),
      timestampOptional: spec.timestampOptional,
    }
    const answer = interpretAnswer(raw, spec.notFound ? { ...context, notFound: spec.notFound } : context)
    const { envelope, ahead } = trustedTimestamp(answer, context.now)
    if (ahead > 0) {
      log.warn(
        `CoinCap's answer is stamped ${Math.round(ahead / 1000)} s ahead of this clock: kept with the time it arrived.`,
        {
          path,
        },
      )
    }
    return envelope
  }
}
