import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { listFlag, timeFlag } from '../cli/flags.js'
import { DATASETS } from '../catalogue/index.js'
import { type PruneResult, prune, resolvePruneCriteria } from '../pipeline/prune.js'
import { formatPrune } from '../ui/prune.js'
import { BULK_ANSWER_TIMEOUT_SECONDS } from '../warehouse/connection/connect.js'

const runFlag = Flags.custom<number>({
  parse: async (input) => {
    const id = /^\d+$/.test(input.trim()) ? Number(input.trim()) : Number.NaN
    if (!(Number.isSafeInteger(id) && id > 0)) {
      throw new Error(`'${input}' is not a run id; use a number from etl_runs.run_id (crypto-etl query runs).`)
    }
    return id
  },
})

export default class Prune extends BaseCommand<typeof Prune> {
  static override databaseAnswerSeconds = BULK_ANSWER_TIMEOUT_SECONDS
  static override summary = 'Delete old snapshots, or roll back a bad load.'
  static override description =
    'Removes snapshot rows observed before --older-than (a row exactly at the cutoff stays), at or after --newer-than, or loaded by --run; criteria combine with AND. Whole partitions inside the window are dropped, which frees their disk at once; only partitions straddling a cutoff are deleted from, in short batches. Dimension tables are kept, history only goes when named in --datasets (or with --run). Each prune is recorded in etl_runs.'
  static override examples = [
    {
      description: 'See what a 30-day retention would remove.',
      command: '<%= config.bin %> prune --older-than 30d --dry-run',
    },
    { description: 'Keep the last 30 days of snapshots.', command: '<%= config.bin %> prune --older-than 30d' },
    {
      description: 'Keep 90 days of market snapshots only.',
      command: '<%= config.bin %> prune --older-than 90d --datasets markets',
    },
    {
      description: 'Drop history points before 2024.',
      command: '<%= config.bin %> prune --older-than 2024-01-01 --datasets history',
    },
    {
      description: 'Roll back what was loaded in the last 2 hours.',
      command: '<%= config.bin %> prune --newer-than 2h',
    },
    { description: 'Roll back exactly the rows one run loaded.', command: '<%= config.bin %> prune --run 42' },
  ]

  static override flags = {
    'older-than': timeFlag({
      summary: 'Remove rows observed before this time: a duration ago (30d) or a date (2025-01-01).',
      helpValue: '<duration|date>',
    }),
    'newer-than': timeFlag({
      summary: 'Remove rows observed at or after this time (roll back a bad load): 2h, or a date.',
      helpValue: '<duration|date>',
    }),
    run: runFlag({ summary: 'Remove exactly the rows one run loaded (its run_id in etl_runs).', helpValue: '<id>' }),
    datasets: listFlag(DATASETS)({
      summary: `Only these: ${DATASETS.join(',')}. Default: the four snapshot datasets (with --run, history too).`,
      helpValue: '<list>',
    }),
    'dry-run': Flags.boolean({ summary: 'Count per table what would go; delete nothing.' }),
  }

  async run(): Promise<PruneResult> {
    const options = {
      olderThan: this.flags['older-than'],
      newerThan: this.flags['newer-than'],
      run: this.flags.run,
      datasets: this.flags.datasets,
      dryRun: this.flags['dry-run'],
    }
    // Refuse a prune without a criterion before touching the database.
    resolvePruneCriteria(options)
    const warehouse = await this.openWarehouse()
    const result = await prune(warehouse, {
      ...options,
      signal: this.abortController.signal,
      logger: this.logger,
    })
    this.summary(formatPrune(result), result.dryRun ? 'prune planned' : 'prune finished', {
      run_id: result.runId,
      status: 'ok',
      dry_run: result.dryRun,
      rows: Object.fromEntries(result.tables.map((t) => [t.table, t.rows])),
      partitions_dropped: result.partitionsDropped,
      ms: result.ms,
    })
    return result
  }
}
