/**
 * `prune --older-than 30d` on 60 days of asset snapshots (10,000,000 expired rows, 1,000,000 recent ones)
 * against a batched DELETE of the same rows (same batch size) in an identical table, on the local server.
 * Each side gets its own scratch schema, built with the real migration, dropped at the end.
 * BENCH_DATABASE_URL (or TEST_DATABASE_URL) picks the server; BENCH_PRUNE_EXPIRED scales the run down.
 */
import postgres from 'postgres'
import { resolveSettings } from '../src/config/settings.js'
import { DEFAULT_BATCH_SIZE, prune } from '../src/pipeline/prune.js'
import { connectWarehouse, type Sql, type Warehouse } from '../src/warehouse/connection/connect.js'
import { migrate } from '../src/warehouse/migrate.js'
import { ensurePartitions } from '../src/warehouse/writing/partitions.js'
import { deleteBatch, listPartitions, tableBytes } from '../src/warehouse/writing/prune.js'
import { DATABASE_URL, timed } from './measure.js'
import type { BenchResult } from './types.js'

const EXPIRED = Number(process.env.BENCH_PRUNE_EXPIRED || 10_000_000)
const ASSETS = 1000
const RECENT_ASSETS = 100
/** Observations in each 30-day half: 10,000 every 259.2 s for 10M expired rows of 1,000 assets. */
const STEPS = Math.round(EXPIRED / ASSETS)
const DAY = 86_400_000
const NOW = new Date('2025-06-15T12:00:00Z')
const CUTOFF = new Date(NOW.getTime() - 30 * DAY)
const TARGET_S = 5

const mib = (bytes: number) => Math.round(bytes / 2 ** 20)
const seconds = (ms: number) => Math.round(ms / 10) / 100

async function open(label: string): Promise<Warehouse> {
  const schema = `bench_prune_${label}_${Math.random().toString(36).slice(2, 8)}`
  const settings = resolveSettings({}, { DATABASE_URL, CRYPTO_ETL_SCHEMA: schema })
  const warehouse = await connectWarehouse(settings, { max: 2 })
  await migrate(warehouse)
  return warehouse
}

/**
 * Fills asset_snapshots with 1,000 assets every 259.2 s before the cutoff and 100 after it, in realistic
 * CoinCap-sized numerics. The indexes are dropped for the load and rebuilt after (same names, same
 * definitions), then the table is vacuumed: 30-day-old data has long been seen by autovacuum.
 */
async function generate(warehouse: Warehouse): Promise<void> {
  const { sql, schema } = warehouse
  const step = (30 * DAY) / STEPS
  const first = new Date(CUTOFF.getTime() - STEPS * step)
  await ensurePartitions(sql, schema, 'asset_snapshots', first, NOW)
  await sql`alter table ${sql(schema)}.asset_snapshots drop constraint asset_snapshots_pkey`
  await sql`drop index ${sql(schema)}.asset_snapshots_observed_at_idx`
  const chunks: { from: number; to: number; assets: number }[] = []
  for (let k = 0; k < STEPS; k += 500) chunks.push({ from: k, to: Math.min(k + 500, STEPS) - 1, assets: ASSETS })
  for (let k = STEPS; k < 2 * STEPS; k += 500)
    chunks.push({ from: k, to: Math.min(k + 500, 2 * STEPS) - 1, assets: RECENT_ASSETS })
  const insert = (c: (typeof chunks)[number]) => sql`
    insert into ${sql(schema)}.asset_snapshots
    select 'asset-' || a, ${first}::timestamptz + k * ${`${step} milliseconds`}::interval, a,
      (13700000.123456789012345678 * a)::numeric, case when a % 3 = 0 then 21000000 end,
      (123456.789012345678 * a * (1 + k * 0.0000001))::numeric, (98765.432100000001 * (k % 977 + a))::numeric,
      (50000.0 / a + k * 0.000001)::numeric(30, 18), ((k % 100) - 50) * 0.123456789012, (50000.0 / a)::numeric(30, 18), 1
    from generate_series(${c.from}::int, ${c.to}::int) k, generate_series(1, ${c.assets}::int) a`
  // Two loaders at once: one per core.
  const queue = [...chunks]
  await Promise.all(
    [0, 1].map(async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await insert(c)
    }),
  )
  await sql`alter table ${sql(schema)}.asset_snapshots add constraint asset_snapshots_pkey primary key (asset_id, observed_at)`
  await sql`create index asset_snapshots_observed_at_idx on ${sql(schema)}.asset_snapshots (observed_at desc)`
  await vacuum(schema, 'vacuum (analyze)')
  await vacuum(schema, 'checkpoint')
}

/**
 * Runs `vacuum` (or `checkpoint`) on the generated table outside any transaction: the warehouse's client
 * runs every statement in one (see connection/pinned.ts), where VACUUM is refused.
 */
async function vacuum(schema: string, command: 'vacuum' | 'vacuum (analyze)' | 'checkpoint'): Promise<void> {
  const plain = postgres(DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    await plain.unsafe(command === 'checkpoint' ? command : `${command} "${schema}".asset_snapshots`)
  } finally {
    await plain.end()
  }
}

async function rowsBefore(sql: Sql, schema: string): Promise<number> {
  const [row] = await sql<{ n: string }[]>`
    select count(*) as n from ${sql(schema)}.asset_snapshots where observed_at < ${CUTOFF}`
  return Number(row?.n)
}

/** Runs `fn` on a scratch warehouse holding the generated snapshots, dropped afterwards. */
async function onGenerated<T>(side: string, fn: (warehouse: Warehouse) => Promise<T>): Promise<T> {
  const warehouse = await open(side)
  try {
    const [, genMs] = await timed(() => generate(warehouse))
    process.stderr.write(`  ${side} side generated in ${seconds(genMs)} s\n`)
    return await fn(warehouse)
  } finally {
    await warehouse.sql.unsafe(`drop schema if exists "${warehouse.schema}" cascade`)
    await warehouse.close()
  }
}

function benchPrune(): Promise<Record<string, number>> {
  return onGenerated('prune', async (warehouse) => {
    const { sql, schema } = warehouse
    const expired = await rowsBefore(sql, schema)
    const before = await tableBytes(sql, schema, 'asset_snapshots')
    const options = { olderThan: '30d', now: NOW, datasets: ['assets'] as const }
    const [, dryMs] = await timed(() => prune(warehouse, { ...options, dryRun: true }))
    const [result, ms] = await timed(() => prune(warehouse, options))
    const t = result.tables[0]!
    if (t.rows !== expired || (await rowsBefore(sql, schema)) !== 0) throw new Error('prune left expired rows')
    return {
      'expired rows': expired,
      'prune s': seconds(ms),
      'dry run s': seconds(dryMs),
      'partitions dropped': t.partitionsDropped,
      'boundary batches': t.batches,
      'size before MiB': mib(before),
      'size after MiB': mib(await tableBytes(sql, schema, 'asset_snapshots')),
    }
  })
}

/** The same rows deleted the way a cleanup job without partitions would: batches by ctid, partition by partition. */
function benchDelete(): Promise<Record<string, number>> {
  return onGenerated('delete', async ({ sql, schema }) => {
    const before = await tableBytes(sql, schema, 'asset_snapshots')
    let rows = 0
    let batches = 0
    const [, ms] = await timed(async () => {
      const filter = { timeColumn: 'observed_at' as const, to: CUTOFF }
      for (const p of await listPartitions(sql, schema, 'asset_snapshots')) {
        if (p.lower && p.lower >= CUTOFF) continue
        for (let n = DEFAULT_BATCH_SIZE; n === DEFAULT_BATCH_SIZE; batches++) {
          n = await deleteBatch(sql, schema, p.name, filter, DEFAULT_BATCH_SIZE)
          rows += n
        }
      }
    })
    const after = await tableBytes(sql, schema, 'asset_snapshots')
    const [, vacuumMs] = await timed(() => vacuum(schema, 'vacuum'))
    return {
      'deleted rows': rows,
      'DELETE s': seconds(ms),
      batches,
      'size before MiB': mib(before),
      'size after MiB': mib(after),
      'then VACUUM s': seconds(vacuumMs),
      'size after VACUUM MiB': mib(await tableBytes(sql, schema, 'asset_snapshots')),
    }
  })
}

export async function run(): Promise<BenchResult[]> {
  const dropped = await benchPrune()
  const deleted = await benchDelete()
  const pruneS = dropped['prune s'] ?? Number.NaN
  const deleteS = deleted['DELETE s'] ?? Number.NaN
  const label = `${(EXPIRED / 1e6).toLocaleString('en-US')}M expired snapshot rows`
  return [
    {
      name: `prune --older-than 30d, ${label}`,
      metrics: dropped,
      verdict: `${pruneS} s ${pruneS < TARGET_S ? '<' : '>='} ${TARGET_S} s: ${pruneS < TARGET_S ? 'met' : 'NOT met'}; ${Math.round(deleteS / pruneS)}× faster than the batched DELETE`,
    },
    {
      name: `batched DELETE (${DEFAULT_BATCH_SIZE.toLocaleString('en-US')} rows), ${label}`,
      metrics: deleted,
      verdict: `baseline for prune: the table does not shrink until VACUUM, and VACUUM leaves the indexes at full size`,
    },
  ]
}
