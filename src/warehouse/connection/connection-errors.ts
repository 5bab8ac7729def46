/** What a driver error says about the connection: an unreachable server, or a session that died under us. */

const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECT_TIMEOUT',
  'NOT_POSTGRES',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
])

/**
 * Codes of an established session's end: its socket closed, was reset or destroyed. postgres.js also
 * fails a query queued on a connection the server terminated (57P01) with CONNECTION_ENDED.
 */
const SESSION_LOSSES = new Set(['ECONNRESET', 'EPIPE', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED'])

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** True for errors that mean "the database cannot be reached", as opposed to a failing statement. */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && (CONNECTION_ERRORS.has(code) || code.startsWith('08') || code === '57P01')
}

/**
 * True when an established session died: its socket closed or was reset, or the server ended it (57P01
 * terminated, 57P02 crash, 08006 connection failure). Unlike a failure to connect, a new connection may work.
 */
export function isSessionLost(error: unknown): boolean {
  const code = codeOf(error)
  return code !== undefined && (SESSION_LOSSES.has(code) || code === '08006' || code === '57P01' || code === '57P02')
}

/**
 * Runs `fn`, and again (up to `attempts` runs in all) while it fails because its session was lost: the
 * pool reconnects for the next try. Not retried once `signal` is aborted.
 */
export async function retryOnLostSession<T>(fn: () => Promise<T>, attempts: number, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (error) {
      if (attempt >= attempts || signal?.aborted || !isSessionLost(error)) throw error
    }
  }
}
