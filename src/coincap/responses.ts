/**
 * Reading one HTTP answer of CoinCap: the envelope when it is good, else the error it stands for.
 * Bodies are never assumed to be JSON (edges send HTML) and never quoted whole in a message.
 */
import { ApiAuthError, ApiUnavailableError, ConfigError, DataValidationError, UsageError } from '../core/errors.js'
import { DEFAULT_API_URL } from './options.js'
import { parseRetryAfter, TransientError } from './retry.js'
import { CLOCK_SKEW_MS, describeIssues, listEnvelopeSchema } from './schemas.js'

/** An answer as got delivered it. */
export interface RawAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

/** What the reader needs to know about the request. */
export interface AnswerContext {
  /** e.g. `GET /assets?limit=100&offset=0`, for messages. */
  request: string
  now: number
  /** The message for a 404 given CoinCap's own error text, e.g. "CoinCap does not know asset 'foo'". */
  notFound?: (apiError: string | undefined) => string
  /** Hides secrets in text taken from the answer (a server may echo the key). */
  mask: (text: string) => string
  /** Stamp an answer without `timestamp` with `now` instead of rejecting it. */
  timestampOptional?: boolean
}

/** A valid list envelope. */
export interface ListEnvelope {
  data: unknown[]
  timestamp: number
}

const NOT_FOUND_HINT = "CoinCap ids are slugs such as 'bitcoin' or 'binance', not symbols such as 'BTC'."
/** Words of an answer that says the plan's credits are spent (as opposed to a rate limit). */
const CREDITS_WORDS = /credit|quota|payment/i
const KEY_HINT = 'Set COINCAP_API_KEY (or pass --api-key) to a key from https://pro.coincap.io/dashboard.'

interface Body {
  kind: 'json' | 'html' | 'empty' | 'other'
  json?: unknown
  /** CoinCap's `{"error": "..."}` text, shortened to one line. */
  apiError?: string
}

function readBody(raw: RawAnswer, mask: (text: string) => string): Body {
  const text = raw.body.toString('utf8')
  const type = String(raw.headers['content-type'] ?? '')
  if (!text.trim()) return { kind: 'empty' }
  if (type.includes('html') || /^\s*</.test(text)) return { kind: 'html' }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { kind: 'other' }
  }
  const error = isRecord(json) ? (json.error ?? json.message) : undefined
  const apiError = typeof error === 'string' ? mask(oneLine(error)) : undefined
  return apiError === undefined ? { kind: 'json', json } : { kind: 'json', json, apiError }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `text` on one line, at most 200 characters. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > 200 ? `${line.slice(0, 197)}...` : line
}

/** "CoinCap answered 503 with an HTML page", "CoinCap answered 500: Internal server error", ... */
function describeAnswer(status: number, body: Body): string {
  if (body.kind === 'html') return `CoinCap answered ${status} with an HTML page`
  if (body.kind === 'empty') return `CoinCap answered ${status} with an empty body`
  if (body.kind === 'other') return `CoinCap answered ${status} with a body that is not JSON`
  return body.apiError ? `CoinCap answered ${status}: ${body.apiError}` : `CoinCap answered ${status}`
}

/** The retired v2 answer: `{"data": {"message": "We are deprecating this version ..."}}`, sent with 429. */
function retiredMessage(json: unknown, mask: (text: string) => string): string | undefined {
  const message = isRecord(json) && isRecord(json.data) ? json.data.message : undefined
  return typeof message === 'string' && /deprecat/i.test(message) ? mask(oneLine(message)) : undefined
}

/**
 * Returns the envelope of a good answer; otherwise throws what the answer means: {@link TransientError}
 * (to retry) for 408, 429, 5xx and unparseable 2xx bodies; ApiAuthError (77) for 401, 403, 402 and a 429
 * that names credits; UsageError (2)
 * for 400/404; DataValidationError (65) for a 2xx whose envelope is wrong; ApiUnavailableError (69) for a
 * retired API version or any other status.
 */
export function interpretAnswer(raw: RawAnswer, context: AnswerContext): ListEnvelope {
  const { status } = raw
  const { request } = context
  const body = readBody(raw, context.mask)
  const retired = body.kind === 'json' ? retiredMessage(body.json, context.mask) : undefined
  if (retired) {
    throw new ApiUnavailableError(
      `This CoinCap API version is retired (${request} answered ${status}: "${retired}"). Use the v3 URL ${DEFAULT_API_URL}.`,
      `Set --api-url / COINCAP_API_URL to ${DEFAULT_API_URL} (or leave it unset) and set COINCAP_API_KEY.`,
    )
  }
  const answered = describeAnswer(status, body)
  if (status >= 200 && status < 300) {
    if (body.kind !== 'json') throw new TransientError(body.kind === 'other' ? `${answered} (truncated?)` : answered)
    const json = body.json as { timestamp?: unknown } | null
    const stamped =
      context.timestampOptional &&
      json &&
      typeof json === 'object' &&
      !Array.isArray(json) &&
      json.timestamp === undefined
        ? { ...json, timestamp: context.now }
        : json
    const envelope = listEnvelopeSchema.safeParse(stamped)
    if (envelope.success) return envelope.data
    throw new DataValidationError(
      `CoinCap's answer to ${request} does not have the expected {data, timestamp} shape: ${describeIssues(envelope.error)}.`,
      'The API may have changed; nothing from this answer was kept. Look for a crypto-etl update.',
    )
  }
  // Out of credits is a key problem (77), not a wait: CoinCap may say so with 402, or with a 429 whose text names
  // credits. A 429 that says when to come back (Retry-After) is a rate limit, whatever its words ("quota").
  const spent = status === 429 && !raw.headers['retry-after'] && CREDITS_WORDS.test(body.apiError ?? '')
  if (status === 402 || spent) {
    const said = body.apiError ? ` ("${body.apiError}")` : ''
    throw new ApiAuthError(
      `CoinCap refused the API key (${status}): out of credits${said}. Check your plan's credits.`,
      KEY_HINT,
    )
  }
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfter = parseRetryAfter(String(raw.headers['retry-after'] ?? ''), context.now)
    throw new TransientError(answered, retryAfter)
  }
  if (status === 401) throw new ApiAuthError('CoinCap rejected the API key (401). Check COINCAP_API_KEY.', KEY_HINT)
  if (status === 403) {
    const what = body.kind === 'html' ? `${answered}: API` : 'CoinCap refused the API key (403):'
    const said = body.apiError ? ` ("${body.apiError}")` : ''
    throw new ApiAuthError(
      `${what} key rejected or out of credits${said}. Check COINCAP_API_KEY and your plan's credits.`,
      KEY_HINT,
    )
  }
  if (status === 404 && body.kind === 'html') {
    throw new ConfigError(`${answered} for ${request}: is --api-url right?`, `CoinCap v3 is at ${DEFAULT_API_URL}.`)
  }
  if (status === 404) {
    const message = context.notFound?.(body.apiError) ?? `CoinCap has nothing at ${request} (${answered}).`
    throw new UsageError(message, NOT_FOUND_HINT)
  }
  if (status === 400) {
    throw new UsageError(
      `CoinCap rejected the query ${request} (${answered}).`,
      'Check the options that shape this request: ids, filters, interval and start/end window.',
    )
  }
  throw new ApiUnavailableError(`${answered} for ${request}; not retried.`)
}

/**
 * `envelope` stamped with a time that can be trusted: a `timestamp` more than {@link CLOCK_SKEW_MS} ahead of
 * `receivedAt` (CoinCap's clock ahead, or a wild value) becomes `receivedAt`, so the snapshot neither hides
 * later ones from "latest" nor passes for fresh, and `prune` sees its real age. `ahead` says by how much.
 */
export function trustedTimestamp(
  envelope: ListEnvelope,
  receivedAt: number,
): { envelope: ListEnvelope; ahead: number } {
  const ahead = envelope.timestamp - receivedAt
  return ahead > CLOCK_SKEW_MS ? { envelope: { ...envelope, timestamp: receivedAt }, ahead } : { envelope, ahead: 0 }
}
