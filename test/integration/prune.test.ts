import { beforeEach, describe, expect, it } from 'vitest'
import { DatabaseError, InterruptedError, UsageError } from '../../src/core/errors.js'
import type { Logger } from '../../src/core/log.js'
import { type PruneOptions, prune, resolvePruneCriteria } from '../../src/pipeline/prune.js'
import type { Sql } from '../../src/warehouse/connection/connect.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions, PARTITIONED_TABLES, type PartitionedTable } from '../../src/warehouse/writing/partitions.js'
import { dropPartition, listPartitions } from '../../src/warehouse/writing/prune.js'
import { useTestWarehouse } from '../helpers/use-warehouse.js'
import { openTestWarehouse, TARGETS } from '../helpers/warehouse.js'

const NOW = new Date('2025-06-15T12:00:00Z')
/** `--older-than 30d` at NOW. */
const CUTOFF = new Date('2025-05-16T12:00:00Z')
const SECOND = 1000
const HOUR = 3_600_000
const DAY = 86_400_000
const at = (base: Date, ms: number) => new Date(base.getTime() + ms)

describe.each(TARGETS)('prune on the %s database', (target) => {
  let sql: Sql
  let schema: string
  const t = useTestWarehouse(target, `prune_${target}`, async (warehouse) => {
    ;({ sql, schema } = warehouse)
    await migrate(warehouse)
  })
  beforeEach(async () => {
    for (const table of PARTITIONED_TABLES) {
      for (const p of await listPartitions(sql, schema, table)) await sql`drop table ${sql(schema)}.${sql(p.name)}`
    }
    await sql`truncate ${sql(schema)}.etl_runs, ${sql(schema)}.rejected_records, ${sql(schema)}.assets restart identity`
  })

  /** Inserts one row per (id, time) into `table`, creating the partitions it needs. */
  async function seed(table: PartitionedTable, times: Date[], opts: { ids?: string[]; runId?: number } = {}) {
    const ids = opts.ids ?? ['bitcoin']
    const sorted = [...times].sort((a, b) => a.getTime() - b.getTime())
    await ensurePartitions(sql, schema, table, sorted[0]!, sorted.at(-1)!)
    const run = opts.runId ?? null
    const rows = ids.flatMap((id) => times.map((time) => [id, time.toISOString()] as const))
    const id = sql.array(rows.map((r) => r[0]))
    const time = sql`${sql.array(rows.map((r) => r[1]))}::timestamptz[]`
    const target = sql`${sql(schema)}.${sql(table)}`
    if (table === 'asset_history') {
      await sql`insert into ${target} (asset_id, interval, ts, price_usd, run_id)
        select i, 'h1', t, 1.5, ${run}::bigint from unnest(${id}::text[], ${time}) as u(i, t)`
    } else if (table === 'market_snapshots') {
      await sql`insert into ${target} (exchange_id, base_id, quote_id, observed_at, run_id)
        select 'binance', i, 'tether', t, ${run}::bigint from unnest(${id}::text[], ${time}) as u(i, t)`
    } else if (table === 'rate_snapshots') {
      await sql`insert into ${target} (rate_id, observed_at, symbol, run_id)
        select i, t, 'SYM', ${run}::bigint from unnest(${id}::text[], ${time}) as u(i, t)`
    } else {
      const key = sql(table === 'asset_snapshots' ? 'asset_id' : 'exchange_id')
      await sql`insert into ${target} (${key}, observed_at, run_id)
        select i, t, ${run}::bigint from unnest(${id}::text[], ${time}) as u(i, t)`
    }
  }

  async function times(table: PartitionedTable): Promise<string[]> {
    const column = table === 'asset_history' ? 'ts' : 'observed_at'
    const rows = await sql<{ t: Date }[]>`
      select ${sql(column)} as t from ${sql(schema)}.${sql(table)} order by 1`
    return rows.map((r) => r.t.toISOString())
  }

  async function count(table: string): Promise<number> {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(schema)}.${sql(table)}`
    return row?.n ?? 0
  }

  const partitionNames = async (table: PartitionedTable) =>
    (await listPartitions(sql, schema, table)).map((p) => p.name)

  const run = (options: Omit<PruneOptions, 'now'>) => prune(t.warehouse, { now: NOW, ...options })

  it('removes the row observed 1 s before the cutoff and keeps the rows at the cutoff and 1 s after', async () => {
    await seed('asset_snapshots', [at(CUTOFF, -SECOND), CUTOFF, at(CUTOFF, SECOND)])
    const result = await run({ olderThan: '30d' })
    expect(result.olderThan).toBe(CUTOFF.toISOString())
    expect(result.tables.find((x) => x.table === 'asset_snapshots')?.rows).toBe(1)
    expect(await times('asset_snapshots')).toEqual([CUTOFF.toISOString(), at(CUTOFF, SECOND).toISOString()])
  })

  it('drops the partitions wholly before the cutoff and deletes from the boundary partition in batches', async () => {
    await seed(
      'asset_snapshots',
      [at(CUTOFF, -2 * DAY), at(CUTOFF, -DAY), at(CUTOFF, -2 * HOUR), at(CUTOFF, -HOUR), CUTOFF, at(CUTOFF, DAY)],
      { ids: ['bitcoin', 'ethereum', 'tether'] },
    )
    const result = await run({ olderThan: CUTOFF, datasets: ['assets'], batchSize: 4 })
    expect(result.tables).toEqual([
      expect.objectContaining({ table: 'asset_snapshots', rows: 12, partitionsDropped: 2, batches: 2 }),
    ])
    expect(await partitionNames('asset_snapshots')).toEqual(['asset_snapshots_p20250516', 'asset_snapshots_p20250517'])
    expect(await count('asset_snapshots')).toBe(6)
  })

  it('drops a partition whose upper bound is exactly the cutoff and leaves the next one alone', async () => {
    const midnight = new Date('2025-05-16T00:00:00Z')
    await seed('asset_snapshots', [at(midnight, -SECOND), midnight])
    const result = await run({ olderThan: midnight })
    expect(result.tables[0]).toMatchObject({ rows: 1, partitionsDropped: 1, batches: 0 })
    expect(await partitionNames('asset_snapshots')).toEqual(['asset_snapshots_p20250516'])
    expect(await times('asset_snapshots')).toEqual([midnight.toISOString()])
  })

  it('keeps exactly the last 30 days of 60 days of hourly snapshots in every snapshot table', async () => {
    const hours = Array.from({ length: 60 * 24 }, (_, i) => at(NOW, -(i + 1) * HOUR))
    const tables = ['asset_snapshots', 'exchange_snapshots', 'market_snapshots', 'rate_snapshots'] as const
    for (const table of tables) await seed(table, hours)
    const result = await run({ olderThan: '30d' })
    expect(result.tables.map((x) => [x.table, x.rows, x.partitionsDropped])).toEqual(
      tables.map((table) => [table, 30 * 24, 30]),
    )
    for (const table of tables) {
      expect(await count(table)).toBe(30 * 24)
      expect((await times(table))[0]).toBe(CUTOFF.toISOString())
    }
  })

  it('reads the real partition bounds whatever the session time zone', async () => {
    await ensurePartitions(sql, schema, 'asset_snapshots', CUTOFF, CUTOFF)
    const parts = await sql.begin(async (tx) => {
      await tx`set local timezone = 'Asia/Kolkata'`
      return listPartitions(tx as unknown as Sql, schema, 'asset_snapshots')
    })
    expect(parts.map((p) => [p.name, p.lower?.toISOString(), p.upper?.toISOString(), p.isDefault])).toEqual([
      ['asset_snapshots_p20250516', '2025-05-16T00:00:00.000Z', '2025-05-17T00:00:00.000Z', false],
    ])
  })

  it('frees the disk of dropped partitions', async () => {
    await seed(
      'asset_snapshots',
      Array.from({ length: 10 }, (_, i) => at(CUTOFF, -i * DAY)),
    )
    const result = await run({ olderThan: CUTOFF })
    const assets = result.tables[0]!
    expect(assets.partitionsDropped).toBe(9)
    expect(assets.bytesAfter).toBeLessThan(assets.bytesBefore)
  })

  it('reports in a dry run what would go and changes nothing', async () => {
    await seed('asset_snapshots', [at(CUTOFF, -DAY), at(CUTOFF, -SECOND), CUTOFF], { ids: ['a', 'b'] })
    await seed('rate_snapshots', [at(CUTOFF, -3 * DAY)])
    const before = await partitionNames('asset_snapshots')
    const result = await run({ olderThan: CUTOFF, dryRun: true, batchSize: 1 })
    expect(result).toMatchObject({ dryRun: true, rows: 5, partitionsDropped: 2, runId: null })
    expect(result.tables.map((x) => [x.table, x.rows, x.partitionsDropped, x.batches])).toEqual([
      ['asset_snapshots', 4, 1, 2],
      ['exchange_snapshots', 0, 0, 0],
      ['market_snapshots', 0, 0, 0],
      ['rate_snapshots', 1, 1, 0],
    ])
    expect(await count('asset_snapshots')).toBe(6)
    expect(await count('rate_snapshots')).toBe(1)
    expect(await partitionNames('asset_snapshots')).toEqual(before)
    expect(await count('etl_runs')).toBe(0)
  })

  it('records the prune in etl_runs with the rows removed per table', async () => {
    await seed('asset_snapshots', [at(CUTOFF, -DAY), at(CUTOFF, -HOUR)])
    await seed('exchange_snapshots', [at(CUTOFF, -HOUR)])
    const result = await run({ olderThan: CUTOFF })
    const [row] = await sql`select run_id, command, status, datasets, rows, finished_at is not null as finished
      from ${sql(schema)}.etl_runs`
    expect(row).toEqual({
      run_id: String(result.runId),
      command: 'prune',
      status: 'ok',
      datasets: ['asset_snapshots', 'exchange_snapshots', 'market_snapshots', 'rate_snapshots'],
      rows: { asset_snapshots: 2, exchange_snapshots: 1, market_snapshots: 0, rate_snapshots: 0 },
      finished: true,
    })
  })

  it('rolls back the rows observed at or after --newer-than and keeps the row 1 s before', async () => {
    const bad = new Date('2025-06-14T09:30:00Z')
    await seed('asset_snapshots', [at(bad, -SECOND), bad, at(bad, SECOND), at(bad, DAY)])
    const result = await run({ newerThan: bad })
    expect(result.tables[0]).toMatchObject({ rows: 3, partitionsDropped: 1 })
    expect(await times('asset_snapshots')).toEqual([at(bad, -SECOND).toISOString()])
    expect(await partitionNames('asset_snapshots')).toEqual(['asset_snapshots_p20250614'])
  })

  it('treats --older-than with --newer-than as the window between them', async () => {
    const from = new Date('2025-06-01T00:00:00Z')
    const to = new Date('2025-06-03T12:00:00Z')
    await seed('asset_snapshots', [at(from, -SECOND), from, at(from, DAY), at(to, -SECOND), to])
    const result = await run({ newerThan: from, olderThan: to, datasets: ['assets'] })
    expect(result.tables[0]).toMatchObject({ rows: 3, partitionsDropped: 2 })
    expect(await times('asset_snapshots')).toEqual([at(from, -SECOND).toISOString(), to.toISOString()])
  })

  it('refuses a window where --newer-than is not before --older-than', async () => {
    expect(() => resolvePruneCriteria({ olderThan: CUTOFF, newerThan: CUTOFF })).toThrow(UsageError)
  })

  it('rolls back exactly the rows one run loaded, history and its rejected records included', async () => {
    const ids = await sql<{ run_id: string }[]>`
      insert into ${sql(schema)}.etl_runs (command, status) values ('run', 'ok'), ('run', 'ok') returning run_id`
    const badRun = Number(ids[0]?.run_id)
    const good = badRun + 1
    const time = at(NOW, -HOUR)
    await seed('asset_snapshots', [time], { ids: ['bitcoin', 'ethereum'], runId: badRun })
    await seed('asset_snapshots', [at(time, -HOUR)], { runId: good })
    await seed('asset_history', [at(time, -DAY)], { runId: badRun })
    await seed('asset_history', [at(time, -2 * DAY)], { runId: good })
    await sql`insert into ${sql(schema)}.rejected_records (run_id, dataset, observed_at, reason, record)
      values (${badRun}, 'assets', ${time}, 'bad', '{}'), (${good}, 'assets', ${time}, 'bad', '{"a":1}')`
    const result = await run({ run: badRun })
    expect(result.tables.filter((x) => x.rows > 0).map((x) => [x.table, x.rows, x.partitionsDropped])).toEqual([
      ['asset_snapshots', 2, 0],
      ['asset_history', 1, 0],
      ['rejected_records', 1, 0],
    ])
    const left = await sql`select run_id::int from ${sql(schema)}.asset_snapshots
      union all select run_id::int from ${sql(schema)}.asset_history
      union all select run_id::int from ${sql(schema)}.rejected_records`
    expect(left.map((r) => r.run_id)).toEqual([good, good, good])
  })

  it('refuses an unknown run id with exit 2 naming it', async () => {
    await expect(run({ run: 987654 })).rejects.toMatchObject({ exitCode: 2, message: 'Run 987654 is not in etl_runs.' })
  })

  it('leaves history untouched unless it is named', async () => {
    await seed('asset_history', [at(CUTOFF, -90 * DAY), at(CUTOFF, -SECOND)])
    await seed('asset_snapshots', [at(CUTOFF, -SECOND)])
    const result = await run({ olderThan: CUTOFF })
    expect(result.tables.map((x) => x.table)).not.toContain('asset_history')
    expect(await count('asset_history')).toBe(2)
    expect(await count('asset_snapshots')).toBe(0)
  })

  it('prunes history by its point time when named, dropping whole months', async () => {
    await seed('asset_history', [
      new Date('2025-03-10T00:00:00Z'),
      new Date('2025-04-30T23:00:00Z'),
      at(CUTOFF, -SECOND),
      CUTOFF,
    ])
    await seed('asset_snapshots', [at(CUTOFF, -SECOND)])
    const result = await run({ olderThan: '30d', datasets: ['history'] })
    expect(result.tables).toEqual([
      expect.objectContaining({ table: 'asset_history', rows: 3, partitionsDropped: 2, batches: 1 }),
    ])
    expect(await times('asset_history')).toEqual([CUTOFF.toISOString()])
    expect(await partitionNames('asset_history')).toEqual(['asset_history_p202505'])
    expect(await count('asset_snapshots')).toBe(1)
  })

  it('keeps the dimension rows', async () => {
    await sql`insert into ${sql(schema)}.assets (asset_id, symbol, name, first_seen_at, last_seen_at)
      values ('bitcoin', 'BTC', 'Bitcoin', ${at(CUTOFF, -DAY)}, ${at(CUTOFF, -DAY)})`
    await seed('asset_snapshots', [at(CUTOFF, -DAY)])
    await run({ olderThan: CUTOFF })
    expect(await count('asset_snapshots')).toBe(0)
    expect(await count('assets')).toBe(1)
  })

  it('refuses to prune without a criterion (exit 2) and deletes nothing', async () => {
    await seed('asset_snapshots', [at(CUTOFF, -DAY)])
    await expect(run({ datasets: ['assets'] })).rejects.toMatchObject({ exitCode: 2 })
    expect(await count('asset_snapshots')).toBe(1)
    expect(await count('etl_runs')).toBe(0)
  })

  it('refuses a bad duration (exit 2) and deletes nothing', async () => {
    await seed('asset_snapshots', [at(CUTOFF, -DAY)])
    await expect(run({ olderThan: '30x' })).rejects.toThrow(UsageError)
    expect(await count('asset_snapshots')).toBe(1)
  })

  it('stops between steps when interrupted, keeps what was dropped and records the run as interrupted', async () => {
    await seed('asset_snapshots', [at(CUTOFF, -3 * DAY), at(CUTOFF, -2 * DAY), at(CUTOFF, -DAY)])
    const controller = new AbortController()
    const logger: Logger = {
      debug: (message) => {
        if (message === 'partition dropped') controller.abort(new InterruptedError('SIGTERM'))
      },
      info() {},
      warn() {},
      error() {},
    }
    await expect(run({ olderThan: CUTOFF, signal: controller.signal, logger })).rejects.toMatchObject({
      exitCode: 143,
    })
    expect(await count('asset_snapshots')).toBe(2)
    const [row] = await sql`select status, rows from ${sql(schema)}.etl_runs`
    expect(row).toEqual({
      status: 'interrupted',
      rows: { asset_snapshots: 1, exchange_snapshots: 0, market_snapshots: 0, rate_snapshots: 0 },
    })
  })
})

describe('dropping a partition on the server while a long query holds the table', () => {
  it('gives up after its attempts with exit 74 instead of stalling the readers queued behind it', async () => {
    const t = await openTestWarehouse('server', 'prune_lock')
    const { sql, schema } = t.warehouse
    try {
      await migrate(t.warehouse)
      await ensurePartitions(sql, schema, 'asset_snapshots', CUTOFF, CUTOFF)
      const reader = await sql.reserve()
      try {
        await reader`begin`
        await reader`select count(*) from ${sql(schema)}.asset_snapshots`
        const drop = dropPartition(sql, schema, 'asset_snapshots', 'asset_snapshots_p20250516', {
          lockTimeoutMs: 50,
          attempts: 2,
          sleep: async () => {},
        })
        await expect(drop).rejects.toBeInstanceOf(DatabaseError)
        await expect(drop).rejects.toMatchObject({ exitCode: 74 })
      } finally {
        await reader`rollback`
        reader.release()
      }
      expect(await dropPartition(sql, schema, 'asset_snapshots', 'asset_snapshots_p20250516')).toBe(true)
    } finally {
      await t.cleanup()
    }
  })
})
