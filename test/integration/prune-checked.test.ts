/**
 * prune never leaves half its work done: every delete inside a boundary partition is planned by the
 * database before the first partition is dropped, so a delete it refuses (here: an app role without
 * DELETE on the boundary partition; on Citus, a delete it cannot plan) fails the prune with every
 * partition and row still there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveSettings } from '../../src/config/settings.js'
import { prune } from '../../src/pipeline/prune.js'
import { connectWarehouse } from '../../src/warehouse/connection/connect.js'
import { migrate } from '../../src/warehouse/migrate.js'
import { ensurePartitions } from '../../src/warehouse/writing/partitions.js'
import { listPartitions } from '../../src/warehouse/writing/prune.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { openTestWarehouse, type TestWarehouse } from '../helpers/warehouse.js'

const NOW = new Date('2025-06-15T12:00:00Z')
const HOUR = 3_600_000
/** Three days of hourly snapshots end at NOW; `--older-than 30h` falls inside 2025-06-14. */
const CUTOFF = new Date(NOW.getTime() - 30 * HOUR)

describe('prune checks every delete before it drops a partition', () => {
  let t: TestWarehouse
  const role = `r_prune_checked_${Math.random().toString(36).slice(2, 8)}`

  beforeAll(async () => {
    t = await openTestWarehouse('server', 'prune_checked')
    const { sql, schema } = t.warehouse
    await migrate(t.warehouse)
    const times = Array.from({ length: 72 }, (_, h) => new Date(NOW.getTime() - (h + 0.5) * HOUR))
    await ensurePartitions(sql, schema, 'asset_snapshots', times.at(-1)!, NOW)
    await sql`insert into ${sql(schema)}.asset_snapshots (asset_id, observed_at, price_usd)
      select 'bitcoin', t, 1 from unnest(${sql.array(times.map((d) => d.toISOString()))}::timestamptz[]) t`
    // The app role of a managed set-up, but the boundary day's partition lacks DELETE (its grants lag).
    await sql.unsafe(`create role ${role} login`)
    await sql.unsafe(`grant usage on schema "${schema}" to ${role}`)
    await sql.unsafe(`grant select, insert, update, delete on all tables in schema "${schema}" to ${role}`)
    await sql.unsafe(`grant execute on all functions in schema "${schema}" to ${role}`)
    await sql.unsafe(`revoke delete on "${schema}".asset_snapshots_p20250614 from ${role}`)
  })
  afterAll(async () => {
    await t?.cleanup()
    await t?.warehouse.close()
    const admin = await connectWarehouse(resolveSettings({}, { DATABASE_URL: TEST_DATABASE_URL }))
    await admin.sql.unsafe(`drop role if exists ${role}`).finally(() => admin.close())
  })

  it('--older-than across a boundary it may not delete from: fails, nothing dropped, nothing deleted', async () => {
    const { sql, schema } = t.warehouse
    const before = (await listPartitions(sql, schema, 'asset_snapshots')).map((p) => p.name)
    expect(before).toEqual([
      'asset_snapshots_p20250612',
      'asset_snapshots_p20250613',
      'asset_snapshots_p20250614',
      'asset_snapshots_p20250615',
    ])
    const url = new URL(TEST_DATABASE_URL)
    url.username = role
    const app = await connectWarehouse(resolveSettings({}, { DATABASE_URL: url.toString(), CRYPTO_ETL_SCHEMA: schema }))
    try {
      await expect(prune(app, { olderThan: CUTOFF, datasets: ['assets'] })).rejects.toMatchObject({ code: '42501' })
    } finally {
      await app.close()
    }
    expect((await listPartitions(sql, schema, 'asset_snapshots')).map((p) => p.name)).toEqual(before)
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(schema)}.asset_snapshots`
    expect(row?.n).toBe(72)
    const [run] = await sql<{ status: string }[]>`select status from ${sql(schema)}.etl_runs where command = 'prune'`
    expect(run?.status).toBe('failed')
  })
})
