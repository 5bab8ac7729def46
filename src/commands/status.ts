import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { ExitCode } from '../core/errors.js'
import { durationFlag, listFlag, MAX_COUNT } from '../cli/flags.js'
import { getStatus, type StatusResult } from '../pipeline/status.js'
import { colorEnabled } from '../ui/format.js'
import { renderStatus } from '../ui/status.js'
import { DATASETS } from '../catalogue/index.js'

export default class Status extends BaseCommand<typeof Status> {
  static override summary = 'Show how fresh each dataset is, the last runs, table sizes and credits used this month.'
  static override description =
    'With --max-age it is a health check: exit 0 when every scheduled dataset is newer than the maximum age and the last scheduled run succeeded; otherwise exit 1 with one line per problem on stderr. Scheduled means loaded by the runs `schedule` installs (`run --scheduled`) in the last 7 days; ad-hoc runs are not judged. Without any scheduled run, every `run` or `load` of the day before the newest counts. --datasets names the datasets to watch instead.'
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --max-age 15m',
    '<%= config.bin %> status --max-age 15m --json',
    '<%= config.bin %> status --max-age 1h --datasets assets,rates',
  ]
  static override flags = {
    'max-age': durationFlag({
      summary: 'Health check: fail (exit 1) when scheduled data is older than this, e.g. 15m.',
    }),
    runs: Flags.integer({ summary: 'How many recent runs to list.', default: 5, min: 1, max: MAX_COUNT }),
    datasets: listFlag(DATASETS)({
      summary: `Watch these datasets (${DATASETS.join(',')}) instead of those the scheduled runs load.`,
      helpValue: '<list>',
    }),
  }

  async run(): Promise<StatusResult> {
    const warehouse = await this.openWarehouse({ read: true })
    const result = await getStatus(warehouse, {
      maxAgeMs: this.flags['max-age'],
      runs: this.flags.runs,
      datasets: this.flags.datasets,
    })
    this.log(renderStatus(result, { color: colorEnabled() }))
    if (result.health && !result.health.healthy) {
      // Unhealthy is an answer, not a crash: the report (or --json object) stays on stdout, exit 1, no stack.
      const reasons = result.health.reasons
      if (this.settings.logFormat === 'json') this.logger.error('unhealthy', { reasons, exit_code: ExitCode.unhealthy })
      else for (const reason of reasons) process.stderr.write(`unhealthy: ${reason}\n`)
      process.exitCode = ExitCode.unhealthy
    }
    return result
  }
}
