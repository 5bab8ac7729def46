/**
 * TLS the way libpq does it: `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `sslpassword` from the
 * URL, else from `PGSSLMODE`/`PGSSLROOTCERT`/`PGSSLCERT`/`PGSSLKEY`, turned into postgres.js's `ssl`
 * option; and libpq's client-side URL parameters taken out of the URL, so the server never receives them
 * as settings (postgres.js sends every parameter it does not know as one).
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { ConfigError } from '../../core/errors.js'
import { DEFAULT_SSL_MODE, SSL_MODES, type SslMode, type TlsParams } from '../../config/tls-params.js'

/**
 * libpq's connection parameters that configure the client, not the server. postgres.js reads
 * `connect_timeout`, `target_session_attrs` and its own options itself; it would send these on as settings.
 */
const LIBPQ_CLIENT_PARAMS = new Set([
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'sslcompression',
  'sslcertmode',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'requirepeer',
  'require_auth',
  'channel_binding',
  'gssencmode',
  'gsslib',
  'gssdelegation',
  'krbsrvname',
  'fallback_application_name',
  'load_balance_hosts',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'passfile',
  'service',
  'hostaddr',
])

/** A URL without libpq's client-side parameters, and the TLS parameters it named. */
export function splitLibpqUrl(url: string): { url: string; tls: TlsParams } {
  const parsed = new URL(url)
  const { params, tls: tlsParams } = splitLibpqParams(Object.fromEntries(parsed.searchParams))
  parsed.search = new URLSearchParams(params).toString()
  return { url: parsed.toString(), tls: tlsParams }
}

/** A URL's query parameters (decoded) without libpq's client-side ones, and the TLS parameters they named. */
export function splitLibpqParams(query: Readonly<Record<string, string>>): {
  params: Record<string, string>
  tls: TlsParams
} {
  const params = new Map(Object.entries(query))
  const mode = params.get('sslmode') ?? undefined
  if (mode !== undefined && !(SSL_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      `Invalid sslmode '${mode}' in --database-url / DATABASE_URL.`,
      `Use one of ${SSL_MODES.join(', ')}.`,
    )
  }
  const tlsParams: TlsParams = {
    sslmode: mode as SslMode | undefined,
    sslrootcert: params.get('sslrootcert') ?? undefined,
    sslcert: params.get('sslcert') ?? undefined,
    sslkey: params.get('sslkey') ?? undefined,
    sslpassword: params.get('sslpassword') ?? undefined,
  }
  for (const key of [...params.keys()]) if (LIBPQ_CLIENT_PARAMS.has(key)) params.delete(key)
  // libpq's default; postgres.js knows only the other values and refuses this one.
  if (params.get('target_session_attrs') === 'any') params.delete('target_session_attrs')
  return { params: Object.fromEntries(params), tls: tlsParams }
}

/** The URL's parameters over the environment's, per parameter (as libpq). */
export function mergeTlsParams(fromUrl: TlsParams, fromEnv: TlsParams): TlsParams {
  return {
    sslmode: fromUrl.sslmode ?? fromEnv.sslmode,
    sslrootcert: fromUrl.sslrootcert ?? fromEnv.sslrootcert,
    sslcert: fromUrl.sslcert ?? fromEnv.sslcert,
    sslkey: fromUrl.sslkey ?? fromEnv.sslkey,
    sslpassword: fromUrl.sslpassword ?? fromEnv.sslpassword,
  }
}

/** postgres.js's `ssl` option: off, its own `prefer`/`require`, or the options of Node's `tls.connect`. */
export type SslOption = false | 'prefer' | 'require' | tls.ConnectionOptions

function readPem(path: string, parameter: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new ConfigError(`Cannot read ${parameter} ${path}: ${code}.`, `Point ${parameter} at a readable PEM file.`)
  }
}

/** The mode in effect: the one given, else verify-full with `sslrootcert=system` (as libpq 16), else prefer. */
function effectiveSslMode(params: TlsParams): SslMode {
  return params.sslmode ?? (params.sslrootcert === 'system' ? 'verify-full' : DEFAULT_SSL_MODE)
}

/** True when the mode refuses a server that does not offer TLS. */
export function requiresTls(params: TlsParams): boolean {
  return ['require', 'verify-ca', 'verify-full'].includes(effectiveSslMode(params))
}

/**
 * postgres.js's `ssl` option for a connection to `host` (undefined for a list of hosts: each is checked
 * against its own name). As libpq: `require` checks nothing unless a root certificate is given (then it
 * checks the chain, like `verify-ca`); `verify-ca` checks the chain only; `verify-full` also checks that
 * the certificate names the host actually connected to, an IP address against the certificate's IP SANs.
 * A Unix socket never uses TLS.
 * @throws ConfigError (78) when a named certificate or key file cannot be read.
 */
export function sslOption(params: TlsParams, host: string | undefined): SslOption {
  if (host?.startsWith('/')) return false
  const mode = effectiveSslMode(params)
  if (mode === 'disable') return false
  const rootcert = params.sslrootcert
  const verify = mode === 'verify-ca' || mode === 'verify-full' || (mode === 'require' && rootcert !== undefined)
  const clientCert: tls.ConnectionOptions = {}
  if (params.sslcert) clientCert.cert = readPem(params.sslcert, 'sslcert')
  if (params.sslkey) clientCert.key = readPem(params.sslkey, 'sslkey')
  if (params.sslpassword) clientCert.passphrase = params.sslpassword
  if (!verify) {
    if (Object.keys(clientCert).length === 0) return mode === 'require' ? 'require' : 'prefer'
    // postgres.js's prefer/require strings cannot carry a client certificate: an object always insists on TLS.
    return { ...clientCert, rejectUnauthorized: false }
  }
  const ca = rootcert && rootcert !== 'system' ? { ca: readPem(rootcert, 'sslrootcert') } : {}
  const checkServerIdentity =
    mode === 'verify-full'
      ? // Node checks the SNI name, which is unset for an IP address (it then checks "localhost"): check the host named.
        (hostname: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(host ?? hostname, cert)
      : () => undefined
  return {
    ...clientCert,
    ...ca,
    rejectUnauthorized: true,
    servername: host && !net.isIP(host) ? host : undefined,
    checkServerIdentity,
  }
}
