/** Masking of secrets (API key, database password) in anything shown to a person or stored. */

const MASK = '***'

/** A Postgres URL in running text: up to the next space or quote. */
const POSTGRES_URL_IN_TEXT = /\bpostgres(?:ql)?:\/\/[^\s'"`]*/gi

/**
 * `url` with everything between the user name and the last `@` as `***`: the password, however it was
 * written (a password holding `@` or `/` unencoded is not where a URL parser would look for it).
 */
function maskUrlPassword(url: string): string {
  const at = url.lastIndexOf('@')
  const start = url.indexOf('//') + 2
  if (at < start) return url
  const colon = url.indexOf(':', start)
  return colon === -1 || colon > at ? url : `${url.slice(0, colon + 1)}${MASK}${url.slice(at)}`
}

/**
 * Replaces every occurrence of each secret (and its URL-encoded form) in `text` with `***`, and the password
 * of any Postgres URL in it (such as one given where an argument was expected, which no setting holds).
 */
export function maskSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text.replace(POSTGRES_URL_IN_TEXT, maskUrlPassword)
  for (const secret of secrets) {
    // Very short "secrets" would mask ordinary words; real keys and passwords are longer.
    if (!secret || secret.length < 3) continue
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(MASK)
  }
  return out
}

/** `value` with {@link maskSecrets} applied to every string in it (keys, values, array items), for JSON output. */
export function maskJson(value: unknown, secrets: readonly (string | undefined)[]): unknown {
  if (typeof value === 'string') return maskSecrets(value, secrets)
  if (Array.isArray(value)) return value.map((item) => maskJson(item, secrets))
  if (value === null || typeof value !== 'object' || value instanceof Date) return value
  const entries = Object.entries(value).map(([key, item]) => [maskSecrets(key, secrets), maskJson(item, secrets)])
  return Object.fromEntries(entries)
}

/** A Postgres URL with its password replaced by `***`, for messages. Unparseable input is hidden whole. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = MASK
    return parsed.toString()
  } catch {
    return '<unparseable URL>'
  }
}

/** Which flags hold a secret: all of their value (`value`: `--api-key`), or a URL's password (`url`). */
export interface SecretFlags {
  value: readonly string[]
  url: readonly string[]
}

/**
 * Command-line arguments fit to store or show: the values of secret flags become `***`, the password of a
 * database URL (as a flag's value or anywhere else) is masked, and every known secret is masked wherever it
 * appears.
 */
export function maskArgs(
  args: readonly string[],
  secrets: readonly (string | undefined)[],
  flags: SecretFlags,
): string[] {
  const out: string[] = []
  let pending: 'secret' | 'url' | undefined
  for (const arg of args) {
    if (pending) {
      out.push(pending === 'secret' ? MASK : maskUrlArg(arg, secrets))
      pending = undefined
      continue
    }
    const [flag, ...rest] = arg.split('=')
    const value = rest.join('=')
    const inline = rest.length > 0
    if (flags.value.includes(flag!)) {
      out.push(inline ? `${flag}=${MASK}` : arg)
      if (!inline) pending = 'secret'
    } else if (flags.url.includes(flag!)) {
      out.push(inline ? `${flag}=${maskUrlArg(value, secrets)}` : arg)
      if (!inline) pending = 'url'
    } else {
      out.push(/^postgres(ql)?:\/\//i.test(arg) ? maskUrlArg(arg, secrets) : maskSecrets(arg, secrets))
    }
  }
  return out
}

/** A URL argument with its password masked; one that does not parse is hidden whole (it may hold a password). */
function maskUrlArg(value: string, secrets: readonly (string | undefined)[]): string {
  return maskSecrets(maskUrl(value), secrets)
}

/**
 * Masks `secrets` in everything written to `stream` from now on. For output crypto-etl does not write
 * itself: Node's own debug lines (NODE_DEBUG=http,net) print each request's headers, the API key among them.
 */
export function maskWrites(stream: NodeJS.WriteStream, secrets: readonly string[]): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
  stream.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(
      typeof chunk === 'string' || Buffer.isBuffer(chunk) ? maskSecrets(String(chunk), secrets) : chunk,
      ...rest,
    )) as typeof stream.write
}
