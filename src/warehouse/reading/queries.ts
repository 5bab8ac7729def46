/**
 * The read side of the warehouse: the reports of `crypto-etl query` and the gap finder `backfill` reuses.
 * Every value from the user is a bound parameter. Column aliases are the names csv/json output uses.
 * Money columns are USD unless a rate is given, then divided by it in SQL (exact `numeric`).
 */
import type { Fragment } from 'postgres'
import { INTERVAL_MS, INTERVALS, type Interval, type SnapshotTable } from '../../catalogue/index.js'
import type { Sql } from '../connection/connect.js'
import { HARMLESS_VOLATILE_FUNCTIONS, RefusedSqlError, scanReadOnlySql } from './read-only-sql.js'
import { pinSettingsSql } from '../connection/session-settings.js'

/**
 * For exchanges, markets and rates, "latest" means the newest observation: each entity's newest row within
 * this window before the newest `observed_at` of its table. One run's pages are seconds apart and runs are
 * minutes apart, so this is the last run's answer without scanning older partitions. Assets differ: see
 * {@link latestAssets}.
 */
const LATEST_WINDOW_MS = 120_000

/** Divides a USD column by the chosen currency's `rate_usd`, or leaves it as stored when there is none. */
function money(sql: Sql, column: string, rateUsd: string | undefined): Fragment {
  return rateUsd ? sql`${sql(column)} / ${rateUsd}::numeric` : sql`${sql(column)}`
}

/**
 * `row` with the whole-number columns `keys` (int8 or numeric text, exact whatever the session's
 * extra_float_digits, unlike float8) as numbers; null stays null.
 */
function wholeNumbers(row: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out = { ...row }
  for (const key of keys) if (out[key] !== null && out[key] !== undefined) out[key] = Number(out[key])
  return out
}

/** The newest `observed_at` of a snapshot table (an index-only read of its newest partition), or null. */
export async function newestObservedAt(sql: Sql, table: SnapshotTable, where?: Fragment): Promise<Date | null> {
  const [row] = await sql<{ at: Date | null }[]>`
    select max(observed_at) as at from ${sql(table)} ${where ? sql`where ${where}` : sql``}`
  return row?.at ?? null
}

function windowStart(newest: Date): Date {
  return new Date(newest.getTime() - LATEST_WINDOW_MS)
}

export interface LatestAssetsOptions {
  limit: number
  /** Only these asset ids and/or symbols (case-insensitive); each one's newest snapshot, however old. */
  assetIds?: readonly string[]
  symbols?: readonly string[]
  rateUsd?: string
}

function latestAssetColumns(sql: Sql, rateUsd: string | undefined): Fragment {
  return sql`s.rank, s.asset_id, a.symbol, a.name,
    ${money(sql, 's.price_usd', rateUsd)} as price,
    s.change_percent_24h as change_24h,
    ${money(sql, 's.market_cap_usd', rateUsd)} as market_cap,
    ${money(sql, 's.volume_usd_24h', rateUsd)} as volume_24h,
    s.observed_at`
}

/** `query latest` lists the assets observed within this time before the newest asset snapshot. */
const LATEST_ASSETS_HORIZON_MS = 86_400_000

/**
 * The newest snapshot of each asset observed in the day before the newest asset snapshot (see
 * {@link LATEST_ASSETS_HORIZON_MS}), by rank: a run of a few `--assets` does not hide the others.
 */
export async function latestAssets(sql: Sql, options: LatestAssetsOptions): Promise<Record<string, unknown>[]> {
  const { limit, rateUsd } = options
  if (options.assetIds?.length || options.symbols?.length) {
    // Named assets: a per-asset descent of the primary key (asset_id, observed_at) in each partition.
    return sql`
      select ${latestAssetColumns(sql, rateUsd)}
      from assets a
      cross join lateral (
        select * from asset_snapshots x where x.asset_id = a.asset_id order by x.observed_at desc limit 1
      ) s
      where a.asset_id = any(${sql.array([...(options.assetIds ?? [])])}::text[])
        or upper(a.symbol) = any(${sql.array((options.symbols ?? []).map((s) => s.toUpperCase()))}::text[])
      order by s.rank nulls last, s.asset_id
      limit ${limit}`
  }
  const newest = await newestObservedAt(sql, 'asset_snapshots')
  if (!newest) return []
  // assets.last_seen_at (the newest answer naming the asset) points each probe at the asset's newest
  // partition only. If its row there is gone (a rolled-back run), the second branch reads back from
  // there; limit 1 runs it only for those.
  return sql`
    select ${latestAssetColumns(sql, rateUsd)}
    from assets a
    cross join lateral (
      (select * from asset_snapshots x
        where x.asset_id = a.asset_id and x.observed_at >= a.last_seen_at and x.observed_at <= ${newest}
        order by x.observed_at desc limit 1)
      union all
      (select * from asset_snapshots x where x.asset_id = a.asset_id and x.observed_at <= ${newest}
        order by x.observed_at desc limit 1)
      limit 1
    ) s
    where a.last_seen_at > ${new Date(newest.getTime() - LATEST_ASSETS_HORIZON_MS)}
    order by s.rank nulls last, s.asset_id
    limit ${limit}`
}

/**
 * The asset a symbol names; several assets may share a symbol, so the best ranked (in its newest
 * snapshot) wins. Undefined when no asset has it.
 */
export async function assetIdForSymbol(sql: Sql, symbol: string): Promise<string | undefined> {
  const [row] = await sql<{ asset_id: string }[]>`
    select a.asset_id from assets a
    left join lateral (
      select rank from asset_snapshots s where s.asset_id = a.asset_id order by s.observed_at desc limit 1
    ) r on true
    where upper(a.symbol) = ${symbol.toUpperCase()}
    order by r.rank nulls last, a.asset_id limit 1`
  return row?.asset_id
}

export interface HistoryOptions {
  assetId: string
  since: Date
  until: Date
  /** The `asset_history` interval to include; by default the finest one with points in the range. */
  interval?: Interval
  /** Keep only the newest N points. */
  limit?: number
  /** At most one point per source in each of this many equal buckets of the range: see {@link thinnedHistory}. */
  points?: number
  rateUsd?: string
}

/** The buckets a thinned history picked its points from: `count` of `ms` each, the first starting at `from`. */
export interface HistoryBuckets {
  from: Date
  ms: number
  count: number
}

/** The finest interval of `asset_history` with points for the asset in the range, if any. */
async function finestInterval(sql: Sql, assetId: string, since: Date, until: Date): Promise<Interval | undefined> {
  const [row] = await sql<{ interval: Interval }[]>`
    select u.i as interval from unnest(${sql.array(INTERVALS)}::text[]) with ordinality as u(i, n)
    where exists (
      select 1 from asset_history h
      where h.asset_id = ${assetId} and h.interval = u.i and h.ts >= ${since} and h.ts <= ${until}
    )
    order by u.n limit 1`
  return row?.interval
}

function snapshotColumns(sql: Sql, rateUsd: string | undefined): Fragment {
  return sql`observed_at as time, ${money(sql, 'price_usd', rateUsd)} as price, supply,
    ${money(sql, 'market_cap_usd', rateUsd)} as market_cap, ${money(sql, 'volume_usd_24h', rateUsd)} as volume_24h,
    'snapshot' as source`
}

function historyColumns(sql: Sql, rateUsd: string | undefined): Fragment {
  return sql`ts as time, ${money(sql, 'price_usd', rateUsd)} as price, circulating_supply as supply,
    null::numeric as market_cap, null::numeric as volume_24h, 'history ' || interval as source`
}

/** One asset over time: its snapshots and its `asset_history` points, oldest first. */
export async function assetHistory(
  sql: Sql,
  options: HistoryOptions,
): Promise<{ rows: Record<string, unknown>[]; buckets?: HistoryBuckets }> {
  const { assetId, since, until, rateUsd } = options
  const interval = options.interval ?? (await finestInterval(sql, assetId, since, until))
  if (options.points !== undefined) return thinnedHistory(sql, { ...options, interval, points: options.points })
  const points = sql`
    select ${snapshotColumns(sql, rateUsd)}
    from asset_snapshots where asset_id = ${assetId} and observed_at >= ${since} and observed_at <= ${until}
    union all
    select ${historyColumns(sql, rateUsd)}
    from asset_history
    where asset_id = ${assetId} and interval = ${interval ?? ''} and ts >= ${since} and ts <= ${until}`
  return { rows: await newest(sql, points, options.limit) }
}

/** `points` oldest first, or only the newest `limit` of them. */
function newest(sql: Sql, points: Fragment, limit: number | undefined): Promise<Record<string, unknown>[]> {
  if (limit === undefined) return sql`${points} order by time, source`
  return sql`select * from (${points} order by time desc, source desc limit ${limit}) p order by time, source`
}

/**
 * A long range in at most `points` points per source, each a stored row as it is: the range from its first
 * stored point to `until` is cut into `points` equal buckets, and each bucket gives the oldest snapshot and
 * the oldest history point in it. An empty bucket gives none, so a gap stays a gap. Each bucket is one
 * probe of the primary key (asset_id, observed_at) and one heap row, however many rows the bucket holds: a
 * 30-day chart of five-minute snapshots reads 1,440 rows instead of 8,640, each in its own heap block.
 */
async function thinnedHistory(
  sql: Sql,
  options: HistoryOptions & { points: number },
): Promise<{ rows: Record<string, unknown>[]; buckets?: HistoryBuckets }> {
  const { assetId, since, until, interval, rateUsd } = options
  // From the first stored point rather than `since`, so that "all" (since the epoch) still gets fine buckets.
  const [first] = await sql<{ at: Date | null }[]>`
    select least(
      (select min(observed_at) from asset_snapshots
        where asset_id = ${assetId} and observed_at >= ${since} and observed_at <= ${until}),
      (select min(ts) from asset_history
        where asset_id = ${assetId} and interval = ${interval ?? ''} and ts >= ${since} and ts <= ${until})
    ) as at`
  if (!first?.at) return { rows: [] }
  // Whole milliseconds (a Date's), starting no later than the first point.
  const from = first.at
  const span = until.getTime() - from.getTime()
  const ms = Math.max(1, Math.ceil(span / options.points))
  const count = Math.max(1, Math.ceil(span / ms))
  // The last bucket runs to `until` inclusive, so a point stored at `until` is in it rather than past it.
  const buckets = sql`(
    select ${from}::timestamptz + (b * ${ms}::float8) * interval '1 millisecond' as lo,
      case when b = ${count - 1} then 'infinity'::timestamptz
        else ${from}::timestamptz + ((b + 1) * ${ms}::float8) * interval '1 millisecond' end as hi
    from generate_series(0, ${count - 1}) b
  ) k`
  const history = interval
    ? sql`union all
      select p.* from ${buckets} cross join lateral (
        select ${historyColumns(sql, rateUsd)} from asset_history
        where asset_id = ${assetId} and interval = ${interval} and ts >= k.lo and ts < k.hi and ts <= ${until}
        order by ts limit 1
      ) p`
    : sql``
  const points = sql`
    select p.* from ${buckets} cross join lateral (
      select ${snapshotColumns(sql, rateUsd)} from asset_snapshots
      where asset_id = ${assetId} and observed_at >= k.lo and observed_at < k.hi and observed_at <= ${until}
      order by observed_at limit 1
    ) p
    ${history}`
  return { rows: await newest(sql, points, options.limit), buckets: { from, ms, count } }
}

export interface MoversOptions {
  since: Date
  until: Date
  /** How many gains and how many losses. */
  limit: number
  rateUsd?: string
}

/**
 * Price change per asset between its first and last snapshot in [since, until] (assets with one
 * snapshot there are left out): the `limit` largest gains, then the `limit` largest losses.
 */
export async function movers(sql: Sql, options: MoversOptions): Promise<Record<string, unknown>[]> {
  const { since, until, limit, rateUsd } = options
  return sql`
    with changes as (
      select a.asset_id, a.symbol, a.name, f.price_usd as first_usd, l.price_usd as last_usd,
        f.observed_at as first_at, l.observed_at as last_at,
        (l.price_usd - f.price_usd) / f.price_usd * 100 as change
      from assets a
      cross join lateral (
        select observed_at, price_usd from asset_snapshots s
        where s.asset_id = a.asset_id and s.observed_at >= ${since} and s.observed_at <= ${until}
        order by s.observed_at limit 1
      ) f
      cross join lateral (
        select observed_at, price_usd from asset_snapshots s
        where s.asset_id = a.asset_id and s.observed_at >= ${since} and s.observed_at <= ${until}
        order by s.observed_at desc limit 1
      ) l
      where l.observed_at > f.observed_at and f.price_usd > 0
    ),
    ranked as (
      (select 'gain' as side, * from changes where change > 0 order by change desc, asset_id limit ${limit})
      union all
      (select 'loss', * from changes where change < 0 order by change, asset_id limit ${limit})
    )
    select side, asset_id, symbol, name,
      ${money(sql, 'first_usd', rateUsd)} as price_from, ${money(sql, 'last_usd', rateUsd)} as price_to,
      change, first_at as "from", last_at as "to"
    from ranked
    order by side, case when side = 'gain' then -change else change end, asset_id`
}

/** The newest exchange snapshot (see {@link LATEST_WINDOW_MS}), by rank. */
export async function latestExchanges(
  sql: Sql,
  options: { limit: number; rateUsd?: string },
): Promise<Record<string, unknown>[]> {
  const newest = await newestObservedAt(sql, 'exchange_snapshots')
  if (!newest) return []
  return sql`
    select s.rank, s.exchange_id, e.name, ${money(sql, 's.volume_usd', options.rateUsd)} as volume_24h,
      s.percent_total_volume as share, s.trading_pairs as pairs, s.socket, s.updated_at as updated, s.observed_at
    from (
      select distinct on (exchange_id) * from exchange_snapshots
      where observed_at > ${windowStart(newest)} and observed_at <= ${newest}
      order by exchange_id, observed_at desc
    ) s
    left join exchanges e on e.exchange_id = s.exchange_id
    order by s.rank nulls last, s.exchange_id
    limit ${options.limit}`
}

export interface MarketsOptions {
  limit: number
  exchangeId?: string
  /** The base or quote asset id. */
  assetId?: string
  /** The base or quote symbol, case-insensitive. */
  symbol?: string
  rateUsd?: string
}

/** The newest snapshot of each market (see {@link LATEST_WINDOW_MS}) matching the filters, by volume. */
export async function latestMarkets(sql: Sql, options: MarketsOptions): Promise<Record<string, unknown>[]> {
  const { exchangeId, assetId, symbol } = options
  const sym = symbol?.toUpperCase()
  const filter = sql`true
    ${exchangeId ? sql`and exchange_id = ${exchangeId}` : sql``}
    ${assetId ? sql`and (base_id = ${assetId} or quote_id = ${assetId})` : sql``}
    ${sym ? sql`and (upper(base_symbol) = ${sym} or upper(quote_symbol) = ${sym})` : sql``}`
  const newest = await newestObservedAt(sql, 'market_snapshots', filter)
  if (!newest) return []
  const markets = await sql`
    select s.exchange_id, s.base_symbol || '/' || s.quote_symbol as pair, s.base_id, s.quote_id,
      ${money(sql, 's.price_usd', options.rateUsd)} as price, s.price_quote,
      ${money(sql, 's.volume_usd_24h', options.rateUsd)} as volume_24h,
      s.percent_exchange_volume as share, s.trades_count_24h as trades_24h, s.updated_at as updated,
      s.observed_at
    from (
      select distinct on (exchange_id, base_id, quote_id) * from market_snapshots
      where observed_at > ${windowStart(newest)} and observed_at <= ${newest} and ${filter}
      order by exchange_id, base_id, quote_id, observed_at desc
    ) s
    order by s.volume_usd_24h desc nulls last, s.exchange_id, s.base_id, s.quote_id
    limit ${options.limit}`
  return markets.map((r) => wholeNumbers(r, ['trades_24h']))
}

/** The newest runs in `etl_runs`, newest first; `rows` is the run's total of loaded rows. */
export async function recentRuns(
  sql: Sql,
  options: { limit: number; since?: Date; commands?: readonly string[] },
): Promise<Record<string, unknown>[]> {
  const runs = await sql`
    select run_id, command, status, started_at, finished_at,
      round(extract(epoch from finished_at - started_at) * 1000)::int8 as duration_ms, datasets,
      (select coalesce(sum(value::numeric), 0) from jsonb_each_text(rows) where value ~ '^[0-9]+$') as rows,
      rejected, api_requests, api_credits as credits, rolled_back_by, args, error
    from etl_runs
    where true
      ${options.since ? sql`and started_at >= ${options.since}` : sql``}
      ${options.commands ? sql`and command = any(${sql.array([...options.commands])}::text[])` : sql``}
    order by started_at desc, run_id desc
    limit ${options.limit}`
  return runs.map((r) => wholeNumbers(r, ['run_id', 'duration_ms', 'rows', 'rolled_back_by']))
}

/**
 * The `run --demo` and `load --demo` runs whose snapshots are still stored, oldest first, so reports can say
 * their prices are made up. etl_runs is asked first (almost always: no demo run, one tiny query). A demo run
 * stamps its answers with the time of the run, so each probe reads that run's minutes of one partition per
 * table; a demo file may be loaded any time after its extract, so that probe reads every partition.
 */
export async function demoRunsWithRows(sql: Sql): Promise<number[]> {
  const runs = await sql<{ run_id: string; from: Date; to: Date }[]>`
    select run_id,
      case when command = 'load --demo' then '1970-01-01Z' else started_at - interval '1 minute' end as from,
      case when command = 'load --demo' then '9999-01-01Z'
        else coalesce(finished_at, started_at + interval '1 hour') + interval '1 minute' end as to
    from etl_runs where command in ('run --demo', 'load --demo') order by run_id`
  const stored: number[] = []
  for (const run of runs) {
    const [row] = await sql<{ stored: boolean }[]>`
      select exists (select 1 from asset_snapshots where observed_at between ${run.from} and ${run.to} and run_id = ${run.run_id})
        or exists (select 1 from exchange_snapshots where observed_at between ${run.from} and ${run.to} and run_id = ${run.run_id})
        or exists (select 1 from market_snapshots where observed_at between ${run.from} and ${run.to} and run_id = ${run.run_id})
        or exists (select 1 from rate_snapshots where observed_at between ${run.from} and ${run.to} and run_id = ${run.run_id})
        as stored`
    if (row?.stored) stored.push(Number(run.run_id))
  }
  return stored
}

/** A rate of `rate_snapshots` as it was last observed. */
export interface RateRow {
  rate_id: string
  symbol: string
  type: string | null
  rate_usd: string
  observed_at: Date
}

/**
 * The newest rate whose symbol is `symbol` (case-insensitive), a fiat rate before a crypto one of the
 * same symbol. Undefined when no rate ever had that symbol.
 */
export async function findRate(sql: Sql, symbol: string): Promise<RateRow | undefined> {
  const sym = symbol.toUpperCase()
  // The symbol's newest observation walks the observed_at index backwards and stops at the first match.
  const [row] = await sql<RateRow[]>`
    with last as (
      select observed_at from rate_snapshots where upper(symbol) = ${sym} order by observed_at desc limit 1
    )
    select r.rate_id, r.symbol, r.type, r.rate_usd, r.observed_at from rate_snapshots r, last
    where upper(r.symbol) = ${sym} and r.rate_usd > 0
      and r.observed_at > last.observed_at - ${`${LATEST_WINDOW_MS} ms`}::interval
    order by (r.type = 'fiat') desc, r.observed_at desc, r.rate_id
    limit 1`
  return row
}

/** Symbols of the newest rates, fiat first, for "did you mean" hints: `limit` of them, and how many there are. */
export async function knownCurrencies(sql: Sql, limit = 12): Promise<{ shown: string[]; total: number }> {
  const newest = await newestObservedAt(sql, 'rate_snapshots')
  if (!newest) return { shown: [], total: 0 }
  const rows = await sql<{ symbol: string; total: number }[]>`
    select symbol, (count(*) over ())::int as total from rate_snapshots
    where observed_at > ${windowStart(newest)} and observed_at <= ${newest}
    group by symbol order by bool_or(type = 'fiat') desc, symbol limit ${limit}`
  return { shown: rows.map((r) => r.symbol), total: rows[0]?.total ?? 0 }
}

/** A run of missing history points: bucket starts `from` to `to` inclusive, `missing` of them. */
export interface HistoryGap {
  from: Date
  to: Date
  missing: number
}

export interface GapOptions {
  assetId: string
  interval: Interval
  /** Default: the first stored point. */
  from?: Date
  /** Default: the last stored point. */
  to?: Date
}

/**
 * The holes in `asset_history` for one asset and interval: the buckets of the interval's grid (aligned
 * to the Unix epoch, as CoinCap's points are) between `from` and `to` that hold no point, grouped into
 * ranges, oldest first. The missing time of a gap is `[from, to + interval)`. No stored point and no
 * bounds: no gaps.
 */
export async function findHistoryGaps(sql: Sql, options: GapOptions): Promise<HistoryGap[]> {
  const step = INTERVAL_MS[options.interval] / 1000
  const { assetId, interval } = options
  return sql<HistoryGap[]>`
    with bounds as (
      select
        to_timestamp(ceil(extract(epoch from coalesce(${options.from ?? null}::timestamptz, min(ts))) / ${step}::int) * ${step}::int) as lo,
        to_timestamp(floor(extract(epoch from coalesce(${options.to ?? null}::timestamptz, max(ts))) / ${step}::int) * ${step}::int) as hi
      from asset_history where asset_id = ${assetId} and interval = ${interval}
    ),
    missing as (
      select g as ts from bounds, generate_series(bounds.lo, bounds.hi, ${`${step} seconds`}::interval) g
      where not exists (
        select 1 from asset_history h where h.asset_id = ${assetId} and h.interval = ${interval} and h.ts = g
      )
    ),
    grouped as (
      select ts, ts - (row_number() over (order by ts)) * ${`${step} seconds`}::interval as grp from missing
    )
    select min(ts) as "from", max(ts) as "to", count(*)::int as missing from grouped group by grp order by 1`
}

/** Intervals with points stored for an asset, finest first. */
export async function storedIntervals(sql: Sql, assetId: string): Promise<Interval[]> {
  const rows = await sql<{ interval: Interval }[]>`
    select u.i as interval from unnest(${sql.array(INTERVALS)}::text[]) with ordinality as u(i, n)
    where exists (select 1 from asset_history h where h.asset_id = ${assetId} and h.interval = u.i)
    order by u.n`
  return rows.map((r) => r.interval)
}

/** What a `--sql` statement returned: rows and the columns with their Postgres type oids, in order. */
export interface ReadOnlyResult {
  columns: { name: string; type: number }[]
  rows: Record<string, unknown>[]
}

/**
 * Runs one read-only query: the statement must pass {@link scanReadOnlySql} (one SELECT, WITH, VALUES or
 * TABLE) and call no volatile function but harmless ones (checked in pg_proc by name), then it runs
 * alone through the extended protocol (which refuses a second statement) in a `READ ONLY` transaction with
 * a statement timeout, rolled back whatever happened. PGlite (the embedded database) runs in this process
 * and does not enforce the timeout: there (`timed` false) pg_sleep is refused too.
 * @throws RefusedSqlError when the statement is not such a query.
 */
export async function runReadOnly(sql: Sql, text: string, timeout = '30s', timed = true): Promise<ReadOnlyResult> {
  const scanned = scanReadOnlySql(text)
  if ('problem' in scanned) throw new RefusedSqlError(scanned.problem)
  const rollback = Symbol('rollback')
  let result: ReadOnlyResult | undefined
  try {
    await sql.begin('read only', async (tx) => {
      await tx`select set_config('statement_timeout', ${timeout}, true)`
      const [unsafe] = await tx<{ name: string }[]>`
        select proname as name from pg_catalog.pg_proc
        where provolatile = 'v' and proname = any(${tx.array(scanned.functions)}::text[])
          and proname <> all(${tx.array(HARMLESS_VOLATILE_FUNCTIONS.filter((f) => timed || !f.startsWith('pg_sleep')))}::text[])
        order by proname limit 1`
      if (unsafe?.name.startsWith('pg_sleep')) {
        throw new RefusedSqlError(`${unsafe.name}() is not cut short by a timeout on the embedded database`)
      }
      if (unsafe) throw new RefusedSqlError(`${unsafe.name}() may change the database, the server or its files`)
      await tx.unsafe(pinSettingsSql('transaction'))
      const rows = await tx.unsafe(text, [], { simple: false } as never)
      const columns = (rows.columns ?? []).map((c) => ({ name: c.name, type: c.type }))
      result = { columns, rows: [...rows] as Record<string, unknown>[] }
      throw rollback
    })
  } catch (error) {
    if (error !== rollback) throw error
  }
  return result!
}
