-- The warehouse of warehouse.md. Runs with search_path set to the target schema.
-- Fact tables are range-partitioned on their time column (snapshots by UTC day, history by UTC month);
-- partitions are created as data arrives by ensure_partitions() below.

create table assets (
  asset_id text primary key,
  symbol text not null,
  name text not null,
  explorer text,
  tokens jsonb not null default '{}',
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null
);

create table exchanges (
  exchange_id text primary key,
  name text not null,
  exchange_url text,
  first_seen_at timestamptz not null,
  last_seen_at timestamptz not null
);

create table asset_snapshots (
  asset_id text not null,
  observed_at timestamptz not null,
  rank int,
  supply numeric,
  max_supply numeric,
  market_cap_usd numeric,
  volume_usd_24h numeric,
  price_usd numeric,
  change_percent_24h numeric,
  vwap_24h numeric,
  run_id bigint,
  primary key (asset_id, observed_at)
) partition by range (observed_at);
-- "latest snapshot" reports read the newest observed_at first.
create index asset_snapshots_observed_at_idx on asset_snapshots (observed_at desc);

create table exchange_snapshots (
  exchange_id text not null,
  observed_at timestamptz not null,
  rank int,
  percent_total_volume numeric,
  volume_usd numeric,
  trading_pairs int,
  socket boolean,
  updated_at timestamptz,
  run_id bigint,
  primary key (exchange_id, observed_at)
) partition by range (observed_at);
create index exchange_snapshots_observed_at_idx on exchange_snapshots (observed_at desc);

create table market_snapshots (
  exchange_id text not null,
  base_id text not null,
  quote_id text not null,
  observed_at timestamptz not null,
  rank int,
  base_symbol text,
  quote_symbol text,
  price_quote numeric,
  price_usd numeric,
  volume_usd_24h numeric,
  percent_exchange_volume numeric,
  trades_count_24h bigint,
  updated_at timestamptz,
  run_id bigint,
  primary key (exchange_id, base_id, quote_id, observed_at)
) partition by range (observed_at);
create index market_snapshots_observed_at_idx on market_snapshots (observed_at desc);

create table rate_snapshots (
  rate_id text not null,
  observed_at timestamptz not null,
  symbol text not null,
  currency_symbol text,
  type text,
  rate_usd numeric,
  run_id bigint,
  primary key (rate_id, observed_at)
) partition by range (observed_at);
create index rate_snapshots_observed_at_idx on rate_snapshots (observed_at desc);

create table asset_history (
  asset_id text not null,
  interval text not null check (interval in ('m1', 'm5', 'm15', 'm30', 'h1', 'h2', 'h6', 'h12', 'd1')),
  ts timestamptz not null,
  price_usd numeric not null,
  circulating_supply numeric,
  run_id bigint,
  primary key (asset_id, interval, ts)
) partition by range (ts);

create table etl_runs (
  run_id bigint generated always as identity primary key,
  command text not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  status text not null check (status in ('running', 'ok', 'partial', 'failed', 'skipped', 'interrupted')),
  datasets text[] not null default '{}',
  rows jsonb not null default '{}',
  rejected int not null default 0,
  api_requests int not null default 0,
  api_credits int not null default 0,
  error text,
  version text
);
create index etl_runs_started_at_idx on etl_runs (started_at desc);

create table rejected_records (
  rejected_id bigint generated always as identity primary key,
  run_id bigint,
  dataset text not null,
  observed_at timestamptz not null,
  reason text not null,
  record jsonb not null
);
create index rejected_records_run_id_idx on rejected_records (run_id);
-- The same bad record in the same answer is kept once, so re-loading a landing file changes nothing.
create unique index rejected_records_once_idx on rejected_records (dataset, observed_at, md5(record::text));

create table backfill_windows (
  asset_id text not null,
  interval text not null,
  window_start timestamptz not null,
  window_end timestamptz not null,
  status text not null check (status in ('pending', 'done', 'failed', 'empty')),
  rows int not null default 0,
  attempts int not null default 0,
  updated_at timestamptz not null default now(),
  primary key (asset_id, interval, window_start),
  check (window_end > window_start)
);

-- Creates the missing partitions of a partitioned table for [p_from, p_to): UTC days for snapshot
-- tables, UTC months for asset_history. Named <table>_pYYYYMMDD / <table>_pYYYYMM. Idempotent and safe
-- to call concurrently (a transaction-level advisory lock serialises creators of the same table).
create function ensure_partitions(p_schema text, p_table text, p_from timestamptz, p_to timestamptz)
returns int
language plpgsql
as $$
declare
  step interval := case when p_table = 'asset_history' then interval '1 month' else interval '1 day' end;
  unit text := case when p_table = 'asset_history' then 'month' else 'day' end;
  fmt text := case when p_table = 'asset_history' then 'YYYYMM' else 'YYYYMMDD' end;
  bucket timestamp := date_trunc(unit, p_from at time zone 'UTC');
  last_bucket timestamp := p_to at time zone 'UTC';
  part text;
  created int := 0;
begin
  if p_to < p_from then
    return 0;
  end if;
  perform pg_advisory_xact_lock(hashtext('crypto-etl:partitions:' || p_schema || '.' || p_table));
  while bucket <= last_bucket loop
    part := p_table || '_p' || to_char(bucket, fmt);
    if to_regclass(format('%I.%I', p_schema, part)) is null then
      execute format(
        'create table %I.%I partition of %I.%I for values from (%L) to (%L)',
        p_schema, part, p_schema, p_table,
        (bucket at time zone 'UTC'), ((bucket + step) at time zone 'UTC')
      );
      created := created + 1;
    end if;
    bucket := bucket + step;
  end loop;
  return created;
end
$$;
