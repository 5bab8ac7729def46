import { Flags } from '@oclif/core'
import { BaseCommand } from '../base-command.js'
import { ExitCode } from '../errors.js'
import { durationFlag, MAX_COUNT } from '../flags.js'
import { getStatus, type StatusResult } from '../pipeline/status.js'
import { colorEnabled } from '../ui/format.js'
import { renderStatus } from '../ui/status.js'

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show how fresh each dataset is, the last runs, table sizes and credits used this month.'
  static override description =
    'With --max-age it is a health check: exit 0 when every scheduled dataset (one a `run` or `load` of the last day loaded) is newer than the maximum age and the last run succeeded; otherwise exit 1 with one line per problem on stderr.'
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --max-age 15m',
    '<%= config.bin %> status --max-age 15m --json',
  ]
  static override flags = {
    'max-age': durationFlag({
      summary: 'Health check: fail (exit 1) when scheduled data is older than this, e.g. 15m.',
    }),
    runs: Flags.integer({ summary: 'How many recent runs to list.', default: 5, min: 1, max: MAX_COUNT }),
  }

  async run(): Promise<StatusResult> {
    const warehouse = await this.openWarehouse({ read: true })
    const result = await getStatus(warehouse, { maxAgeMs: this.flags['max-age'], runs: this.flags.runs })
    this.log(renderStatus(result, { color: colorEnabled() }))
    if (result.health && !result.health.healthy) {
      // Unhealthy is an answer, not a crash: the report (or --json object) stays on stdout, exit 1, no stack.
      for (const reason of result.health.reasons) process.stderr.write(`unhealthy: ${reason}\n`)
      process.exitCode = ExitCode.unhealthy
    }
    return result
  }
}
