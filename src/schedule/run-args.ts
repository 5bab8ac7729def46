/** The command line of `run` that each scheduled group runs, and the checks on the flags given after `--`. */
import { secretFlags } from '../config/settings-table.js'
import { UsageError } from '../core/errors.js'
import type { SnapshotDataset } from '../catalogue/index.js'
import type { ScheduleRequest } from './types.js'
import { SCHEDULED_FLAG } from '../pipeline/status.js'
import { SUGGESTED_RETENTION_DAYS } from '../pipeline/storage.js'

/** Flags a schedule must not hold: secrets (they belong in the settings file) and another settings file. */
const SECRET_FLAGS = [...secretFlags('value'), ...secretFlags('url'), '--env-file']

/**
 * Checks the flags given after `--` for `run` and takes `--datasets` out of them (each cadence group gets
 * its own). @throws UsageError for newlines or control characters, and for secrets, which belong in the
 * env file rather than in a crontab.
 */
export function splitRunArgs(args: readonly string[]): { datasets?: string; rest: string[] } {
  const rest: string[] = []
  let datasets: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (/[\u0000-\u001f\u007f]/.test(arg)) {
      throw new UsageError('The flags after -- must not contain newlines or control characters.')
    }
    const name = arg.startsWith('--') ? arg.split('=')[0]! : ''
    if (SECRET_FLAGS.includes(name)) {
      throw new UsageError(
        `${name} does not belong after --: a schedule must not hold secrets or other settings files.`,
        'Put COINCAP_API_KEY and DATABASE_URL in the env file given to schedule with --env-file.',
      )
    }
    if (name === '--datasets') {
      datasets = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[++i]
      if (!datasets) throw new UsageError('--datasets after -- needs a list, e.g. --datasets assets,rates.')
      continue
    }
    rest.push(arg)
  }
  return { datasets, rest }
}

/**
 * The command one group runs: node, the CLI, `run --datasets <its datasets> --scheduled` (so `status`
 * tells its runs from ad-hoc ones), the forwarded settings, the flags after `--`.
 */
export function runArgv(request: ScheduleRequest, datasets: readonly SnapshotDataset[]): string[] {
  const argv = [request.node, request.cli, 'run', '--datasets', datasets.join(','), SCHEDULED_FLAG]
  argv.push(...(request.forwarded ?? []), ...request.runArgs)
  return argv
}

/** Whether `argv` holds the flag `name`, as `--name value` or `--name=value`. */
export const hasFlag = (argv: readonly string[], name: string) =>
  argv.some((a) => a === name || a.startsWith(`${name}=`))

/** The daily `prune` that keeps the warehouse to the suggested retention, with the same forwarded settings. */
export function pruneArgv(request: ScheduleRequest): string[] {
  return [
    request.node,
    request.cli,
    'prune',
    '--older-than',
    `${SUGGESTED_RETENTION_DAYS}d`,
    ...(request.forwarded ?? []),
  ]
}
