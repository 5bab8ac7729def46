-- For the BI tools people already use (Metabase, Grafana, Superset) and for anyone writing SQL: views with
-- plain names over the warehouse, and a comment on every table, view and column, which their catalogues
-- show. "Latest" means what `crypto-etl query` means by it: an asset's newest snapshot among the assets seen
-- in the day before the newest asset snapshot; for exchanges, markets and rates, each one's newest row within
-- 120 s before its table's newest observation (one run's answer).

create view latest_prices as
with newest as (select max(observed_at) as at from asset_snapshots)
select a.asset_id, a.symbol, a.name, s.rank, s.price_usd, s.change_percent_24h, s.market_cap_usd,
  s.volume_usd_24h, s.supply, s.max_supply, s.vwap_24h, s.observed_at
from newest
cross join assets a
cross join lateral (
  -- assets.last_seen_at points at the asset's newest partition; the second branch reads back from there
  -- when that row is gone (a run rolled back by prune --run). LIMIT 1 runs it only then.
  (select * from asset_snapshots x
    where x.asset_id = a.asset_id and x.observed_at >= a.last_seen_at and x.observed_at <= newest.at
    order by x.observed_at desc limit 1)
  union all
  (select * from asset_snapshots x where x.asset_id = a.asset_id and x.observed_at <= newest.at
    order by x.observed_at desc limit 1)
  limit 1
) s
where a.last_seen_at > newest.at - interval '1 day'
order by s.rank nulls last, a.asset_id;

create view price_points as
select s.asset_id, a.symbol, a.name, s.observed_at as time, s.price_usd, 'snapshot'::text as source,
  null::text as interval, s.market_cap_usd, s.volume_usd_24h, s.supply, s.run_id
from asset_snapshots s left join assets a on a.asset_id = s.asset_id
union all
select h.asset_id, a.symbol, a.name, h.ts, h.price_usd, 'history', h.interval, null, null, h.circulating_supply,
  h.run_id
from asset_history h left join assets a on a.asset_id = h.asset_id;

create view latest_exchanges as
with newest as (select max(observed_at) as at from exchange_snapshots)
select s.exchange_id, e.name, s.rank, s.volume_usd, s.percent_total_volume, s.trading_pairs, s.socket,
  s.updated_at, s.observed_at
from newest
cross join lateral (
  select distinct on (x.exchange_id) x.* from exchange_snapshots x
  where x.observed_at > newest.at - interval '120 seconds' and x.observed_at <= newest.at
  order by x.exchange_id, x.observed_at desc
) s
left join exchanges e on e.exchange_id = s.exchange_id
order by s.rank nulls last, s.exchange_id;

create view latest_markets as
with newest as (select max(observed_at) as at from market_snapshots)
select s.exchange_id, s.base_id, s.quote_id, s.base_symbol, s.quote_symbol, s.price_usd, s.price_quote,
  s.volume_usd_24h, s.percent_exchange_volume, s.trades_count_24h, s.updated_at, s.observed_at
from newest
cross join lateral (
  select distinct on (x.exchange_id, x.base_id, x.quote_id) x.* from market_snapshots x
  where x.observed_at > newest.at - interval '120 seconds' and x.observed_at <= newest.at
  order by x.exchange_id, x.base_id, x.quote_id, x.observed_at desc
) s
order by s.volume_usd_24h desc nulls last, s.exchange_id, s.base_id, s.quote_id;

create view latest_rates as
with newest as (select max(observed_at) as at from rate_snapshots)
select s.rate_id, s.symbol, s.currency_symbol, s.type, s.rate_usd, s.observed_at
from newest
cross join lateral (
  select distinct on (x.rate_id) x.* from rate_snapshots x
  where x.observed_at > newest.at - interval '120 seconds' and x.observed_at <= newest.at
  order by x.rate_id, x.observed_at desc
) s
order by s.symbol, s.rate_id;

create view runs as
select r.run_id, r.command, r.status, r.started_at, r.finished_at,
  extract(epoch from r.finished_at - r.started_at)::numeric(12, 3) as duration_seconds, r.datasets,
  (select coalesce(sum(value::numeric), 0) from jsonb_each_text(r.rows) where value ~ '^[0-9]+$')::bigint
    as rows_loaded,
  r.rejected, r.api_requests, r.api_credits, r.rolled_back_by, r.error, r.version
from etl_runs r;

comment on view latest_prices is 'The newest price of each asset seen in the last day of snapshots, by rank (what crypto-etl query latest shows). Money in USD.';
comment on column latest_prices.asset_id is 'CoinCap asset id, e.g. bitcoin.';
comment on column latest_prices.symbol is 'Ticker symbol, e.g. BTC (several assets may share one).';
comment on column latest_prices.name is 'Asset name, e.g. Bitcoin.';
comment on column latest_prices.rank is 'Rank by market cap in that snapshot (1 is the largest).';
comment on column latest_prices.price_usd is 'Price in USD, exact as CoinCap sent it.';
comment on column latest_prices.change_percent_24h is 'Price change over the 24 hours before the snapshot, in percent (-1.5 is -1.5 %).';
comment on column latest_prices.market_cap_usd is 'Market cap in USD (supply × price).';
comment on column latest_prices.volume_usd_24h is 'Trading volume of the last 24 hours, in USD.';
comment on column latest_prices.supply is 'Circulating supply, in units of the asset.';
comment on column latest_prices.max_supply is 'Maximum supply, in units of the asset; null when unlimited or unknown.';
comment on column latest_prices.vwap_24h is 'Volume-weighted average price of the last 24 hours, in USD.';
comment on column latest_prices.observed_at is 'When crypto-etl observed this price (the time of the CoinCap answer).';

comment on view price_points is 'Every stored price of every asset over time: snapshots (each run) and history points (backfill), with symbol and name. Filter by asset_id or symbol and time; money in USD.';
comment on column price_points.asset_id is 'CoinCap asset id, e.g. bitcoin.';
comment on column price_points.symbol is 'Ticker symbol, e.g. BTC; null for history of an asset no run has listed.';
comment on column price_points.name is 'Asset name, e.g. Bitcoin; null for history of an asset no run has listed.';
comment on column price_points.time is 'The time of the price: when a snapshot was observed, or the start of a history interval.';
comment on column price_points.price_usd is 'Price in USD, exact as CoinCap sent it.';
comment on column price_points.source is 'snapshot (from run) or history (from backfill).';
comment on column price_points.interval is 'The history interval (m1, m5, ..., h1, d1); null for snapshots. Pick one interval per chart.';
comment on column price_points.market_cap_usd is 'Market cap in USD; snapshots only.';
comment on column price_points.volume_usd_24h is 'Trading volume of the last 24 hours in USD; snapshots only.';
comment on column price_points.supply is 'Circulating supply, in units of the asset.';
comment on column price_points.run_id is 'The run (etl_runs.run_id) that stored the point.';

comment on view latest_exchanges is 'The newest snapshot of each exchange (the last run''s answer), by rank (what crypto-etl query exchanges shows). Money in USD.';
comment on column latest_exchanges.exchange_id is 'CoinCap exchange id, e.g. binance.';
comment on column latest_exchanges.name is 'Exchange name, e.g. Binance.';
comment on column latest_exchanges.rank is 'Rank by volume (1 is the largest).';
comment on column latest_exchanges.volume_usd is 'Trading volume of the last 24 hours, in USD.';
comment on column latest_exchanges.percent_total_volume is 'Share of the total volume of all exchanges, in percent.';
comment on column latest_exchanges.trading_pairs is 'Number of trading pairs (markets) on the exchange.';
comment on column latest_exchanges.socket is 'Whether CoinCap receives the exchange''s trades over a websocket.';
comment on column latest_exchanges.updated_at is 'When CoinCap last updated the exchange''s figures.';
comment on column latest_exchanges.observed_at is 'When crypto-etl observed this snapshot.';

comment on view latest_markets is 'The newest snapshot of each market (exchange, base, quote; the last run''s answer), by volume (what crypto-etl query markets shows). Money in USD.';
comment on column latest_markets.exchange_id is 'CoinCap exchange id, e.g. binance.';
comment on column latest_markets.base_id is 'Asset id of the base (what is bought), e.g. bitcoin.';
comment on column latest_markets.quote_id is 'Asset id of the quote (what it is paid in), e.g. tether.';
comment on column latest_markets.base_symbol is 'Symbol of the base, e.g. BTC.';
comment on column latest_markets.quote_symbol is 'Symbol of the quote, e.g. USDT.';
comment on column latest_markets.price_usd is 'Price of the base in USD.';
comment on column latest_markets.price_quote is 'Price of the base in units of the quote.';
comment on column latest_markets.volume_usd_24h is 'Trading volume of the last 24 hours, in USD.';
comment on column latest_markets.percent_exchange_volume is 'Share of the exchange''s volume, in percent.';
comment on column latest_markets.trades_count_24h is 'Number of trades in the last 24 hours.';
comment on column latest_markets.updated_at is 'When CoinCap last updated the market''s figures.';
comment on column latest_markets.observed_at is 'When crypto-etl observed this snapshot.';

comment on view latest_rates is 'The newest rate of each currency (the last run''s answer). Divide a USD amount by rate_usd to convert it.';
comment on column latest_rates.rate_id is 'CoinCap rate id, e.g. euro.';
comment on column latest_rates.symbol is 'Currency symbol, e.g. EUR (a fiat and a crypto rate may share one).';
comment on column latest_rates.currency_symbol is 'The currency sign, e.g. €; null when CoinCap has none.';
comment on column latest_rates.type is 'fiat or crypto.';
comment on column latest_rates.rate_usd is 'USD per unit of the currency (EUR 1.16 means 1 EUR = 1.16 USD).';
comment on column latest_rates.observed_at is 'When crypto-etl observed this rate.';

comment on view runs is 'Every crypto-etl command that recorded a run, with its outcome, rows loaded and CoinCap credits (what crypto-etl query runs shows).';
comment on column runs.run_id is 'The run''s id (etl_runs.run_id); prune --run <id> rolls its rows back.';
comment on column runs.command is 'The command: run, run --demo, load, backfill, prune.';
comment on column runs.status is 'running, ok, partial (some datasets failed), failed, skipped, interrupted or abandoned.';
comment on column runs.started_at is 'When the run started.';
comment on column runs.finished_at is 'When the run ended; null while running (or if its process died).';
comment on column runs.duration_seconds is 'finished_at - started_at, in seconds.';
comment on column runs.datasets is 'The datasets the run worked on (assets, exchanges, markets, rates, history).';
comment on column runs.rows_loaded is 'Rows stored by the run, all datasets together.';
comment on column runs.rejected is 'Records CoinCap sent that failed validation (kept in rejected_records).';
comment on column runs.api_requests is 'Requests sent to CoinCap.';
comment on column runs.api_credits is 'CoinCap credits the run spent.';
comment on column runs.rolled_back_by is 'The prune run that rolled this run''s rows back, if any.';
comment on column runs.error is 'Why the run failed or was partial, secrets removed.';
comment on column runs.version is 'The crypto-etl version that ran it.';

comment on table assets is 'One row per asset CoinCap has listed: its id, symbol and name (the dimension of the asset tables).';
comment on column assets.asset_id is 'CoinCap asset id, e.g. bitcoin.';
comment on column assets.symbol is 'Ticker symbol, e.g. BTC (several assets may share one).';
comment on column assets.name is 'Asset name, e.g. Bitcoin.';
comment on column assets.explorer is 'URL of a block explorer for the asset.';
comment on column assets.tokens is 'Contract addresses of the asset''s tokens per chain, as CoinCap sends them.';
comment on column assets.first_seen_at is 'The first answer that named the asset.';
comment on column assets.last_seen_at is 'The newest answer that named the asset.';

comment on table exchanges is 'One row per exchange CoinCap has listed: its id and name.';
comment on column exchanges.exchange_id is 'CoinCap exchange id, e.g. binance.';
comment on column exchanges.name is 'Exchange name, e.g. Binance.';
comment on column exchanges.exchange_url is 'The exchange''s website.';
comment on column exchanges.first_seen_at is 'The first answer that named the exchange.';
comment on column exchanges.last_seen_at is 'The newest answer that named the exchange.';

comment on table asset_snapshots is 'Each asset as each run saw it: price, market cap, volume, supply. Partitioned by UTC day of observed_at; money in USD. For charts, the view price_points adds symbol and name.';
comment on column asset_snapshots.asset_id is 'CoinCap asset id (assets.asset_id).';
comment on column asset_snapshots.observed_at is 'When crypto-etl observed it (the time of the CoinCap answer).';
comment on column asset_snapshots.rank is 'Rank by market cap (1 is the largest).';
comment on column asset_snapshots.supply is 'Circulating supply, in units of the asset.';
comment on column asset_snapshots.max_supply is 'Maximum supply; null when unlimited or unknown.';
comment on column asset_snapshots.market_cap_usd is 'Market cap in USD.';
comment on column asset_snapshots.volume_usd_24h is 'Trading volume of the last 24 hours, in USD.';
comment on column asset_snapshots.price_usd is 'Price in USD, exact as CoinCap sent it.';
comment on column asset_snapshots.change_percent_24h is 'Price change over the last 24 hours, in percent.';
comment on column asset_snapshots.vwap_24h is 'Volume-weighted average price of the last 24 hours, in USD.';
comment on column asset_snapshots.run_id is 'The run (etl_runs.run_id) that stored the row.';

comment on table exchange_snapshots is 'Each exchange as each run saw it: volume and share. Partitioned by UTC day of observed_at; money in USD.';
comment on column exchange_snapshots.exchange_id is 'CoinCap exchange id (exchanges.exchange_id).';
comment on column exchange_snapshots.observed_at is 'When crypto-etl observed it.';
comment on column exchange_snapshots.rank is 'Rank by volume (1 is the largest).';
comment on column exchange_snapshots.percent_total_volume is 'Share of the total volume of all exchanges, in percent.';
comment on column exchange_snapshots.volume_usd is 'Trading volume of the last 24 hours, in USD.';
comment on column exchange_snapshots.trading_pairs is 'Number of trading pairs.';
comment on column exchange_snapshots.socket is 'Whether CoinCap receives the exchange''s trades over a websocket.';
comment on column exchange_snapshots.updated_at is 'When CoinCap last updated the figures.';
comment on column exchange_snapshots.run_id is 'The run (etl_runs.run_id) that stored the row.';

comment on table market_snapshots is 'Each market (a pair on an exchange) as each run saw it. Partitioned by UTC day of observed_at; money in USD.';
comment on column market_snapshots.exchange_id is 'CoinCap exchange id.';
comment on column market_snapshots.base_id is 'Asset id of the base (what is bought).';
comment on column market_snapshots.quote_id is 'Asset id of the quote (what it is paid in).';
comment on column market_snapshots.observed_at is 'When crypto-etl observed it.';
comment on column market_snapshots.rank is 'Rank of the market on CoinCap.';
comment on column market_snapshots.base_symbol is 'Symbol of the base, e.g. BTC.';
comment on column market_snapshots.quote_symbol is 'Symbol of the quote, e.g. USDT.';
comment on column market_snapshots.price_quote is 'Price of the base in units of the quote.';
comment on column market_snapshots.price_usd is 'Price of the base in USD.';
comment on column market_snapshots.volume_usd_24h is 'Trading volume of the last 24 hours, in USD.';
comment on column market_snapshots.percent_exchange_volume is 'Share of the exchange''s volume, in percent.';
comment on column market_snapshots.trades_count_24h is 'Number of trades in the last 24 hours.';
comment on column market_snapshots.updated_at is 'When CoinCap last updated the figures.';
comment on column market_snapshots.run_id is 'The run (etl_runs.run_id) that stored the row.';

comment on table rate_snapshots is 'Each currency''s rate to USD as each run saw it. Partitioned by UTC day of observed_at.';
comment on column rate_snapshots.rate_id is 'CoinCap rate id, e.g. euro.';
comment on column rate_snapshots.observed_at is 'When crypto-etl observed it.';
comment on column rate_snapshots.symbol is 'Currency symbol, e.g. EUR.';
comment on column rate_snapshots.currency_symbol is 'The currency sign, e.g. €.';
comment on column rate_snapshots.type is 'fiat or crypto.';
comment on column rate_snapshots.rate_usd is 'USD per unit of the currency.';
comment on column rate_snapshots.run_id is 'The run (etl_runs.run_id) that stored the row.';

comment on table asset_history is 'Historical prices from backfill: one point per asset, interval and interval start. Partitioned by UTC month of ts; money in USD.';
comment on column asset_history.asset_id is 'CoinCap asset id.';
comment on column asset_history.interval is 'The interval of the point: m1, m5, m15, m30, h1, h2, h6, h12 or d1.';
comment on column asset_history.ts is 'Start of the interval the point stands for.';
comment on column asset_history.price_usd is 'Price in USD (CoinCap''s average over the interval).';
comment on column asset_history.circulating_supply is 'Circulating supply at that time, in units of the asset.';
comment on column asset_history.run_id is 'The backfill run (etl_runs.run_id) that stored the point.';

comment on table etl_runs is 'The run ledger: one row per command that loaded, backfilled or pruned. The view runs sums its rows.';
comment on column etl_runs.run_id is 'The run''s id.';
comment on column etl_runs.command is 'The command: run, run --demo, load, backfill, prune.';
comment on column etl_runs.started_at is 'When the run started.';
comment on column etl_runs.finished_at is 'When it ended; null while running.';
comment on column etl_runs.status is 'running, ok, partial, failed, skipped, interrupted or abandoned.';
comment on column etl_runs.datasets is 'The datasets the run worked on.';
comment on column etl_runs.rows is 'Rows stored per dataset, e.g. {"assets": 100}.';
comment on column etl_runs.rejected is 'Records that failed validation (kept in rejected_records).';
comment on column etl_runs.api_requests is 'Requests sent to CoinCap.';
comment on column etl_runs.api_credits is 'CoinCap credits spent.';
comment on column etl_runs.error is 'Why the run failed or was partial, secrets removed.';
comment on column etl_runs.version is 'The crypto-etl version that ran it.';
comment on column etl_runs.args is 'The command''s arguments, secrets removed.';
comment on column etl_runs.rolled_back_at is 'When a prune --run rolled this run''s rows back.';
comment on column etl_runs.rolled_back_by is 'The prune run that rolled it back.';

comment on table rejected_records is 'Records CoinCap sent that failed validation, kept whole with the reason, once each.';
comment on column rejected_records.rejected_id is 'Row id.';
comment on column rejected_records.run_id is 'The run that received the record.';
comment on column rejected_records.dataset is 'The dataset it belongs to.';
comment on column rejected_records.observed_at is 'When the answer holding it was received.';
comment on column rejected_records.reason is 'Why it was rejected.';
comment on column rejected_records.record is 'The record as CoinCap sent it.';

comment on table backfill_windows is 'Backfill''s progress: each window of history asked for, per asset and interval, so a backfill resumes where it stopped.';
comment on column backfill_windows.asset_id is 'CoinCap asset id.';
comment on column backfill_windows.interval is 'The history interval.';
comment on column backfill_windows.window_start is 'Start of the window.';
comment on column backfill_windows.window_end is 'End of the window (exclusive).';
comment on column backfill_windows.status is 'pending, done, failed or empty (CoinCap had no points).';
comment on column backfill_windows.rows is 'Points stored from the window.';
comment on column backfill_windows.attempts is 'How many times it was asked for.';
comment on column backfill_windows.updated_at is 'When the row last changed.';

comment on table run_leases is 'Locks held by running commands, as leases their process renews (internal bookkeeping).';
comment on column run_leases.name is 'What is locked: run, backfill:<asset>:<interval>, or etl_run:<run_id>.';
comment on column run_leases.holder is 'The holder, unique per process.';
comment on column run_leases.run_id is 'The run holding it, if any.';
comment on column run_leases.pid is 'Process id of the holder.';
comment on column run_leases.host is 'Host name of the holder.';
comment on column run_leases.acquired_at is 'When it was taken.';
comment on column run_leases.expires_at is 'When it lapses unless renewed.';

comment on table schema_migrations is 'The migrations applied to this schema (internal bookkeeping of crypto-etl migrate).';
comment on column schema_migrations.version is 'Migration number.';
comment on column schema_migrations.name is 'Migration name.';
comment on column schema_migrations.checksum is 'SHA-256 of the migration file, so an edited one is refused.';
comment on column schema_migrations.applied_at is 'When it was applied.';
