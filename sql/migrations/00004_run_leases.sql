-- Locks as leases, so that none outlives its process, even behind a pooler in transaction mode (a session
-- advisory lock stays on the pooled backend): one row per held lock (`run`, `backfill:<asset>:<interval>`)
-- and per running run (`etl_run:<run_id>`), naming its holder and renewed by it until `expires_at`.
create table run_leases (
  name text primary key,
  holder text not null,
  run_id bigint,
  pid int not null,
  host text not null,
  acquired_at timestamptz not null default now(),
  expires_at timestamptz not null
);

-- A run found `running` by a later run although no process works on it any more is marked `abandoned`.
alter table etl_runs drop constraint etl_runs_status_check;
alter table etl_runs add constraint etl_runs_status_check
  check (status in ('running', 'ok', 'partial', 'failed', 'skipped', 'interrupted', 'abandoned'));
-- Every command that records a run looks for `running` ones: few rows among many.
create index etl_runs_running_idx on etl_runs (run_id) where status = 'running';
