-- Partitions made and dropped for roles that only read and write rows. A managed set-up has an owner
-- that migrates once and an app role with SELECT, INSERT, UPDATE and DELETE: creating a partition for a
-- new day, or detaching one, needs the owner of the partitioned table. So both functions run as their
-- owner (the role that migrated: SECURITY DEFINER), with a search_path pinned to this schema, and only
-- act on this schema's partitioned tables. EXECUTE is taken from PUBLIC: grant it to the writing roles
-- (GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ... TO app).

-- As in 00001, and a new partition gets its parent's grants, so a role that may read or delete through
-- the parent may do so in the partition itself (prune deletes per partition, status reads them).
create or replace function ensure_partitions(p_schema text, p_table text, p_from timestamptz, p_to timestamptz)
returns int
language plpgsql
security definer
as $$
declare
  step interval := case when p_table = 'asset_history' then interval '1 month' else interval '1 day' end;
  unit text := case when p_table = 'asset_history' then 'month' else 'day' end;
  fmt text := case when p_table = 'asset_history' then 'YYYYMM' else 'YYYYMMDD' end;
  bucket timestamp := date_trunc(unit, p_from at time zone 'UTC');
  last_bucket timestamp := p_to at time zone 'UTC';
  part text;
  grant_row record;
  created int := 0;
begin
  if p_schema is distinct from current_schema() or p_table not in
    ('asset_snapshots', 'exchange_snapshots', 'market_snapshots', 'rate_snapshots', 'asset_history') then
    raise exception 'ensure_partitions: %.% is not a partitioned table of schema %', p_schema, p_table, current_schema()
      using errcode = '42501';
  end if;
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
      for grant_row in
        select case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end as grantee,
          string_agg(a.privilege_type, ', ') as privileges
        from pg_class c, aclexplode(c.relacl) a
        where c.oid = format('%I.%I', p_schema, p_table)::regclass and a.grantee <> c.relowner
        group by 1
      loop
        execute format('grant %s on %I.%I to %s', grant_row.privileges, p_schema, part, grant_row.grantee);
      end loop;
      created := created + 1;
    end if;
    bucket := bucket + step;
  end loop;
  return created;
end
$$;

-- Detaches partition p_partition from p_table and drops it; false when it is not (or no longer) one of its
-- partitions. The caller's transaction sets lock_timeout, so a busy table makes this give up quickly.
create function drop_partition(p_schema text, p_table text, p_partition text)
returns boolean
language plpgsql
security definer
as $$
begin
  if p_schema is distinct from current_schema() or p_table not in
    ('asset_snapshots', 'exchange_snapshots', 'market_snapshots', 'rate_snapshots', 'asset_history') then
    raise exception 'drop_partition: %.% is not a partitioned table of schema %', p_schema, p_table, current_schema()
      using errcode = '42501';
  end if;
  if not exists (
    select 1 from pg_inherits
    where inhrelid = to_regclass(format('%I.%I', p_schema, p_partition))
      and inhparent = to_regclass(format('%I.%I', p_schema, p_table))
  ) then
    return false;
  end if;
  execute format('alter table %I.%I detach partition %I.%I', p_schema, p_table, p_schema, p_partition);
  execute format('drop table %I.%I', p_schema, p_partition);
  return true;
end
$$;

-- The path is this schema's name, known only now: pg_catalog is searched first and pg_temp last, so as long
-- as only the owner may create objects in this schema (the documented set-up), no caller's object can stand
-- in for what the bodies call.
do $$
begin
  execute format('alter function ensure_partitions(text, text, timestamptz, timestamptz) set search_path = %I, pg_temp',
    current_schema());
  execute format('alter function drop_partition(text, text, text) set search_path = %I, pg_temp', current_schema());
end
$$;

revoke execute on function ensure_partitions(text, text, timestamptz, timestamptz) from public;
revoke execute on function drop_partition(text, text, text) from public;
