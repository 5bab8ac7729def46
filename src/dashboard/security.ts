/**
 * What keeps the dashboard safe to leave running: the headers every answer carries, the Host check that stops
 * a web page from reaching a loopback dashboard through DNS rebinding, and the token a non-loopback
 * dashboard asks for (in the first URL, then as an HttpOnly cookie, or as a Bearer header for scripts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** Headers of every answer: only this origin's own scripts, styles and data; no framing, no referrer. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
}

const TOKEN_COOKIE = 'crypto_etl_dashboard'

/** Whether `host` (a --host value) only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1'
}

/** A new random token (192 bits, URL-safe). */
export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The token a request carries: `Authorization: Bearer <token>` or the cookie the first visit set. */
function presented(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1]
  if (bearer) return bearer
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=')
    if (name === TOKEN_COOKIE) return value.join('=')
  }
  return undefined
}

/** Whether a request is allowed: always without a token; with one, when it carries it. */
export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true
  const given = presented(req)
  return given !== undefined && sameSecret(given, token)
}

/** Whether `?token=` of a first visit is the token (then the answer sets the cookie and drops it from the URL). */
export function tokenInUrl(url: URL, token: string | undefined): boolean {
  const given = url.searchParams.get('token')
  return token !== undefined && given !== null && sameSecret(given, token)
}

/** The cookie that carries the token for the rest of the visit: never sent to scripts or other sites. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`
}

/**
 * The Host headers a loopback dashboard answers: its own names. A page elsewhere whose name was made to point
 * at 127.0.0.1 (DNS rebinding) sends its own name, and is refused. Undefined (any) when not on loopback,
 * where the token guards it instead.
 */
export function allowedHosts(host: string, port: number): Set<string> | undefined {
  if (!isLoopback(host)) return undefined
  const names = ['127.0.0.1', 'localhost', '[::1]', isIP(host) === 6 ? `[${host}]` : host]
  return new Set(names.flatMap((name) => [name, `${name}:${port}`]))
}
