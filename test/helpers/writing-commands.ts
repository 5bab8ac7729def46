/**
 * Each command that writes to the warehouse, with arguments that would write: the tests of a read-only
 * database (a read-only role, a hot standby) run them all and expect each refused before any request.
 */

/** Stands for the landing file `load` reads; {@link withLanding} puts the test's own in its place. */
const LANDING = '<landing>'

/** [command, its arguments]. */
export const WRITING_COMMANDS: [string, string[]][] = [
  ['run', ['run']],
  ['load', ['load', LANDING]],
  ['backfill', ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '30d']],
  ['prune', ['prune', '--older-than', '30d']],
  ['migrate', ['migrate']],
]

/** `args` with `landing` in place of the landing file. */
export function withLanding(args: string[], landing: string): string[] {
  return args.map((arg) => (arg === LANDING ? landing : arg))
}
