/**
 * Demo data (made-up prices) never lands unmarked among real ones: the embedded database takes it (the
 * quick start), labelled; a Postgres server, where real data lives, only when `--allow-demo` says so.
 */
import { Flags } from '@oclif/core'
import type { Settings } from '../config/settings.js'
import { UsageError } from '../core/errors.js'

/** The flag of `run` and `load` that lets demo data into a Postgres server. */
export const allowDemoFlag = Flags.boolean({
  summary:
    'Let demo data (made-up prices) into a Postgres server, labelled; without it only the embedded database takes it.',
})

/**
 * Refuses demo data on a server unless allowed.
 * @param what what brings demo data, for the message: `run --demo`, `stdin line 1 (written by extract --demo)`
 * @throws UsageError (2)
 */
export function checkDemoTarget(settings: Settings, allowed: boolean, what: string): void {
  if (settings.database.kind === 'embedded' || allowed) return
  throw new UsageError(
    `${what} brings made-up prices: refused on a Postgres server, where they would mix with real data.`,
    'Try the demo in the embedded database (without DATABASE_URL or PGHOST), or add --allow-demo to load it there, labelled (crypto-etl prune --run N removes it).',
  )
}
