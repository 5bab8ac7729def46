-- latest_prices (00005) said "the newest snapshot" through a CTE its LATERAL probe referenced, which Citus
-- refuses ("cannot push down this subquery": a LIMIT in a lateral subquery referencing a CTE). The same view,
-- the same columns and rows, with the newest observed_at as a scalar subquery instead: Postgres still computes
-- it once (an uncorrelated InitPlan), Citus plans it first and then pushes the per-asset probes down to the
-- shards, where assets and asset_snapshots sit together by asset_id. Its comments stay as they are.
create or replace view latest_prices as
select a.asset_id, a.symbol, a.name, s.rank, s.price_usd, s.change_percent_24h, s.market_cap_usd,
  s.volume_usd_24h, s.supply, s.max_supply, s.vwap_24h, s.observed_at
from assets a
cross join lateral (
  -- assets.last_seen_at points at the asset's newest partition; the second branch reads back from there
  -- when that row is gone (a run rolled back by prune --run). LIMIT 1 runs it only then.
  (select * from asset_snapshots x
    where x.asset_id = a.asset_id and x.observed_at >= a.last_seen_at
      and x.observed_at <= (select max(observed_at) from asset_snapshots)
    order by x.observed_at desc limit 1)
  union all
  (select * from asset_snapshots x
    where x.asset_id = a.asset_id and x.observed_at <= (select max(observed_at) from asset_snapshots)
    order by x.observed_at desc limit 1)
  limit 1
) s
where a.last_seen_at > (select max(observed_at) from asset_snapshots) - interval '1 day'
order by s.rank nulls last, a.asset_id;
