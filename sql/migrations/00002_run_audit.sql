-- Runs are auditable: the arguments each command was given (secrets removed before they are stored), and
-- whether a later `prune --run` rolled the run's rows back, and which prune did.
alter table etl_runs add column args text[] not null default '{}';
alter table etl_runs add column rolled_back_at timestamptz;
alter table etl_runs add column rolled_back_by bigint;
