/** The TLS parameters a database setting can give, named as libpq names them (`sslmode`, `sslrootcert`, …). */

/** libpq's `sslmode` values, from never TLS to TLS with the server's name verified. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof SSL_MODES)[number]

/** libpq's default: try TLS without verifying the server, fall back to plaintext when it declines. */
export const DEFAULT_SSL_MODE: SslMode = 'prefer'

/** The TLS parameters of a connection; unset ones fall back to the environment, then to libpq's defaults. */
export interface TlsParams {
  sslmode?: SslMode
  /** A file of CA certificates, or `system` for the CAs Node trusts. */
  sslrootcert?: string
  sslcert?: string
  sslkey?: string
  /** The passphrase of `sslkey`. */
  sslpassword?: string
}
