import { homedir } from 'node:os'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { plural } from '../ui/format.js'
import {
  checkCitusCoordinator,
  type DistributeResult,
  distributeWarehouse,
  noCitusError,
} from '../warehouse/connection/citus.js'
import { describeTarget } from '../warehouse/connection/target.js'
import type { MigrateResult } from '../warehouse/migrate.js'
import { BULK_ANSWER_TIMEOUT_SECONDS } from '../warehouse/connection/connect.js'

export default class Migrate extends BaseCommand<typeof Migrate> {
  static override databaseAnswerSeconds = BULK_ANSWER_TIMEOUT_SECONDS
  static override summary = 'Create or upgrade the warehouse schema.'
  static override description =
    'Applies the pending migrations in order, each in its own transaction under an advisory lock. Other commands do this on first use; run it yourself to prepare a database ahead of time. With --distributed, on a Citus coordinator, it then shards the fact tables and their dimensions by entity id across the workers (co-located) and keeps the bookkeeping tables on the coordinator; rows already stored move to the workers.'
  static override examples = [
    '<%= config.bin %> migrate',
    '<%= config.bin %> migrate --database-url postgres://etl@db.example:5432/market --schema coincap',
    '<%= config.bin %> migrate --distributed --database-url postgres://etl@citus-coordinator:5432/market',
  ]

  static override flags = {
    distributed: Flags.boolean({
      summary: 'Distribute the warehouse on a Citus coordinator (exit 78 where Citus is not installed).',
    }),
  }

  async run(): Promise<MigrateResult & { database: string; distribution?: DistributeResult }> {
    const { database } = this.settings
    // PGlite has no Citus: refused before the embedded database is even created.
    if (this.flags.distributed && database.kind === 'embedded') {
      throw noCitusError(`the embedded database in ${database.dataDir}`)
    }
    const warehouse = await this.openWarehouse({ migrate: false })
    // Checked first, so that a refused --distributed creates nothing.
    if (this.flags.distributed) await checkCitusCoordinator(warehouse)
    const result = await this.migrateWarehouse(warehouse)
    const where = describeTarget(this.settings, { home: homedir() })
    const names = result.applied.map((m) => `${String(m.version).padStart(5, '0')}_${m.name}`)
    const text =
      result.applied.length === 0
        ? [`Up to date: ${plural(result.alreadyApplied, 'migration')} already applied to ${where}.`]
        : [
            ...names.map((n) => `applied ${n}`),
            `Applied ${plural(names.length, 'migration')} to ${where} in ${result.ms} ms.`,
          ]
    const distribution = this.flags.distributed ? await distributeWarehouse(warehouse) : undefined
    if (distribution) text.push(...distributionLines(distribution))
    this.summary(text.join('\n'), 'migrate finished', {
      status: 'ok',
      schema: result.schema,
      applied: names,
      already_applied: result.alreadyApplied,
      ms: result.ms,
      ...(distribution && { distributed: distribution.distributed }),
    })
    return { ...result, database: warehouse.kind, ...(distribution && { distribution }) }
  }
}

function distributionLines(distribution: DistributeResult): string[] {
  const done = distribution.distributed
  return [
    ...done.map((table) => `distributed ${table}`),
    done.length === 0
      ? `Already distributed: ${plural(distribution.alreadyDistributed, 'table')} sharded by entity id on the Citus cluster.`
      : `Distributed ${plural(done.length, 'table')} by entity id on the Citus cluster; bookkeeping tables stay on the coordinator.`,
  ]
}
