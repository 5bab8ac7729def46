/**
 * The benchmark warehouse of `query` and the dashboard: 30 days of five-minute snapshots of 2,000 assets
 * (17.28 M rows in 30 day partitions), an EUR rate, one run. About 9 minutes to make on 2 cores.
 */
import type postgres from 'postgres'

export const ASSETS = 2000
export const DAYS = 30

/** Fills the migrated `schema` with snapshots up to `end`; returns the seconds it took. */
export async function generate(sql: postgres.Sql, schema: string, end: Date): Promise<number> {
  const start = new Date(end.getTime() - DAYS * 86_400_000)
  await sql`insert into assets (asset_id, symbol, name, first_seen_at, last_seen_at)
    select 'asset-' || i, 'S' || i, 'Asset ' || i, ${start}, ${end} from generate_series(1, ${ASSETS}) i`
  await sql`insert into etl_runs (command, started_at, finished_at, status, datasets, api_credits)
    values ('run', ${end}, ${end}, 'ok', '{assets,rates}', 3)`
  const started = performance.now()
  // One day per statement keeps each transaction (and the server's memory) to 576,000 rows.
  for (let day = 0; day < DAYS; day++) {
    const from = new Date(start.getTime() + day * 86_400_000 + 300_000)
    const to = new Date(Math.min(from.getTime() + 86_400_000 - 300_000, end.getTime()))
    await sql`select ensure_partitions(${schema}, 'asset_snapshots', ${from}, ${to})`
    await sql`insert into asset_snapshots (asset_id, observed_at, rank, supply, market_cap_usd, volume_usd_24h,
        price_usd, change_percent_24h, vwap_24h, run_id)
      select 'asset-' || i, t, i, 1000000 * i, (1e12 / i)::numeric(38, 18), (1e10 / i)::numeric(38, 18),
        (50000.0 / i * (1 + 0.01 * sin(extract(epoch from t) / 3600 + i)))::numeric(38, 18),
        (5 * sin(extract(epoch from t) / 7200 + i))::numeric(20, 16), (50000.0 / i)::numeric(38, 18), 1
      from generate_series(${from}::timestamptz, ${to}::timestamptz, interval '5 minutes') t
      cross join generate_series(1, ${ASSETS}) i`
    process.stderr.write(`  day ${day + 1}/${DAYS}\r`)
  }
  await sql`select ensure_partitions(${schema}, 'rate_snapshots', ${end}, ${end})`
  await sql`insert into rate_snapshots (rate_id, observed_at, symbol, type, rate_usd)
    values ('euro', ${end}, 'EUR', 'fiat', 1.16), ('united-states-dollar', ${end}, 'USD', 'fiat', 1)`
  await sql`analyze asset_snapshots`
  await sql`analyze assets`
  return Math.round((performance.now() - started) / 1000)
}
