/**
 * The session settings crypto-etl reads values under. A role or a database may carry its own
 * (`ALTER ROLE etl SET DateStyle = 'SQL, DMY'`), applied when each session starts: with DMY, postgres.js
 * read 05/12 as May 12 and `prune` dropped the newest partitions. So they are pinned on every connection.
 *
 * - On a server, as startup parameters: they outrank role and database settings, and pgbouncer forwards
 *   exactly these (and re-applies them to each server connection it lends, in transaction mode too).
 *   Other settings would make pgbouncer refuse the connection, so nothing read depends on them: no query
 *   returns a float (`extra_float_digits`), an interval (`IntervalStyle`) or bytea (`bytea_output`).
 * - In every transaction, server and embedded (which ignores startup parameters), all of them with
 *   `search_path` (connect.ts, pinnedSettings); and again by {@link pinSettingsSql} for the rest of a
 *   transaction that runs SQL a person wrote (`query --sql`), whose answer may hold anything.
 */

/** Startup parameters of every server connection. */
export const PINNED_STARTUP_PARAMETERS = {
  DateStyle: 'ISO, MDY',
  TimeZone: 'UTC',
  client_encoding: 'UTF8',
  standard_conforming_strings: 'on',
} as const

/** Everything pinned where a session or a transaction can be told after it started. */
export const PINNED_SESSION_SETTINGS = {
  ...PINNED_STARTUP_PARAMETERS,
  IntervalStyle: 'postgres',
  extra_float_digits: '3',
  bytea_output: 'hex',
} as const

/** One statement that pins every setting above for the rest of the session, or of the transaction. */
export function pinSettingsSql(scope: 'session' | 'transaction'): string {
  const local = scope === 'transaction'
  const calls = Object.entries(PINNED_SESSION_SETTINGS).map(
    ([name, value]) => `set_config('${name}', '${value}', ${local})`,
  )
  return `select ${calls.join(', ')}`
}
