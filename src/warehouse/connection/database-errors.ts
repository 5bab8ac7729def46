/**
 * What an error thrown under a command means for the user: the one mapping of errors to {@link EtlError}s,
 * and so to exit codes, that the base command, the pipelines and the run ledger share.
 */
import { ConfigError, DatabaseError, EtlError, ExitCode } from '../../core/errors.js'
import { isConnectionError } from './connection-errors.js'
import { isLockTimeout, lockWaitError } from './lock-wait.js'

/** What the command knows when an error reaches it: its warehouse (if open) and its stop signal. */
export interface ErrorContext {
  warehouse?: {
    /** The statement that went unanswered, once one did: what fails after it is that. */
    readonly noAnswer?: DatabaseError
    lockTimeoutMs?: number
  }
  signal?: AbortSignal
}

/**
 * Anything thrown, as the EtlError it stands for: after a statement went unanswered, that (74); a statement
 * the stop signal cancelled (57014), the interruption (129/130/143); a lock wait that ran out, 74 naming the
 * table; an EtlError, itself; a refused privilege (42501) or a read-only database (25006), 78; a lost
 * connection or any other SQLSTATE, 74; anything else, an internal error (1).
 */
export function toEtlError(error: unknown, context: ErrorContext = {}): EtlError {
  const { warehouse, signal } = context
  if (warehouse?.noAnswer) return warehouse.noAnswer
  const err = error as (Error & { code?: unknown }) | undefined
  if (signal?.aborted && signal.reason instanceof EtlError && err?.code === QUERY_CANCELED) return signal.reason
  if (error instanceof EtlError) return error
  if (isLockTimeout(error) && warehouse?.lockTimeoutMs !== undefined)
    return lockWaitError(error, warehouse.lockTimeoutMs)
  // Checked up front where it can be (connection/access.ts); these are what slips past, still configuration.
  if (err?.code === '42501') {
    return new ConfigError(
      `Permission denied: ${err.message}.`,
      'Grant the role the privileges of its commands (docs/privileges.md).',
      { cause: error },
    )
  }
  if (err?.code === '25006') {
    return new ConfigError(
      `The database is read-only: ${err.message}.`,
      'Writing commands need a writable primary and a role without default_transaction_read_only.',
      { cause: error },
    )
  }
  if (isConnectionError(err) || (typeof err?.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code))) {
    return toDatabaseError(err, 'Database error')
  }
  return new EtlError(`Unexpected error: ${err?.message ?? String(error)}`, ExitCode.internal, undefined, {
    cause: error,
  })
}

/** SQLSTATE of a cancelled statement: a statement_timeout among other causes. */
const QUERY_CANCELED = '57014'

/** Wraps a driver error as exit 74 with a one-line message (secrets are masked where it is shown or stored). */
export function toDatabaseError(error: unknown, context: string): DatabaseError {
  const err = error as { code?: string; message?: string }
  // postgres.js words its connect timeout as "write CONNECT_TIMEOUT host:port".
  const message = (err.message ?? String(error)).replace(/^write CONNECT_TIMEOUT (.+)$/, 'no answer from $1 in time')
  const detail = message
  const refused = /unsupported startup parameter: (\S+)/.exec(message)?.[1]
  const hint =
    tlsHint(err.code, message) ??
    (refused
      ? `A connection pooler refused the setting ${refused}: remove it from --database-url / DATABASE_URL.`
      : undefined) ??
    (isConnectionError(error)
      ? 'Check that the server is running and --database-url / DATABASE_URL (or PGHOST) points at it.'
      : undefined) ??
    (err.code === QUERY_CANCELED
      ? "A statement_timeout (the server's, the role's or the database's) cut it short: raise it for this role."
      : undefined)
  return new DatabaseError(
    `${context}: ${detail}${err.code && !detail.includes(err.code) ? ` (${err.code})` : ''}.`,
    hint,
    {
      cause: error,
    },
  )
}

/** Node's codes for a server certificate that failed verification. */
const CERTIFICATE_ERRORS =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT(_LOCALLY)?|VERIFY_LEAF_SIGNATURE)|CERT_(HAS_EXPIRED|NOT_YET_VALID|SIGNATURE_FAILURE|UNTRUSTED|REJECTED))$/

/** What to do about a TLS mismatch between client and server, or undefined when it is not one. */
function tlsHint(code: string | undefined, message: string): string | undefined {
  // 28000 "no pg_hba.conf entry for host ..., no encryption": the server takes only TLS (hostssl) connections.
  if (code === '28000' && /no encryption/.test(message)) {
    return 'The server accepts only TLS connections: add sslmode=require to the URL (or set PGSSLMODE=require).'
  }
  if (code === 'NO_TLS') return 'Turn on ssl on the server, or lower sslmode (prefer tries TLS and falls back).'
  if (code !== undefined && CERTIFICATE_ERRORS.test(code)) {
    return "The server's certificate was refused: name its CA with sslrootcert=<file> (or PGSSLROOTCERT) and connect to a host name the certificate lists."
  }
  return undefined
}
