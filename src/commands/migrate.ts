import { BaseCommand } from '../base-command.js'
import { plural } from '../ui/format.js'
import type { MigrateResult } from '../warehouse/migrate.js'
import { BULK_ANSWER_TIMEOUT_SECONDS } from '../warehouse/connect.js'

export default class Migrate extends BaseCommand<typeof Migrate> {
  static override databaseAnswerSeconds = BULK_ANSWER_TIMEOUT_SECONDS
  static override summary = 'Create or upgrade the warehouse schema.'
  static override description =
    'Applies the pending migrations in order, each in its own transaction under an advisory lock. Other commands do this on first use; run it yourself to prepare a database ahead of time.'
  static override examples = [
    '<%= config.bin %> migrate',
    '<%= config.bin %> migrate --database-url postgres://etl@db.example:5432/market --schema coincap',
  ]

  async run(): Promise<MigrateResult & { database: string }> {
    const warehouse = await this.openWarehouse({ migrate: false })
    const result = await this.migrateWarehouse(warehouse)
    const where = `schema ${result.schema} on the ${warehouse.location}`
    const names = result.applied.map((m) => `${String(m.version).padStart(5, '0')}_${m.name}`)
    const text =
      result.applied.length === 0
        ? `Up to date: ${plural(result.alreadyApplied, 'migration')} already applied to ${where}.`
        : [
            ...names.map((n) => `applied ${n}`),
            `Applied ${plural(names.length, 'migration')} to ${where} in ${result.ms} ms.`,
          ]
    this.summary([text].flat().join('\n'), 'migrate finished', {
      status: 'ok',
      schema: result.schema,
      applied: names,
      already_applied: result.alreadyApplied,
      ms: result.ms,
    })
    return { ...result, database: warehouse.kind }
  }
}
