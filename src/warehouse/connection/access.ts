/**
 * What the connected role may do in the warehouse's schema, read from the catalogs without touching the
 * schema itself (no DDL, no lock), and the configuration errors (exit 78) that name a missing privilege
 * or a read-only server with the statement that fixes it. The privileges each command needs are listed
 * in docs/privileges.md; this module is where the CLI checks them.
 */
import { ConfigError } from '../../core/errors.js'
import type { Sql } from './connect.js'

/** The connected role and server, and the role's privileges on the warehouse's schema and its tables. */
export interface Access {
  role: string
  database: string
  /** A hot standby (in recovery). */
  inRecovery: boolean
  /** Transactions are read-only: a standby, or `default_transaction_read_only` on. */
  readOnly: boolean
  /** The role may create schemas in the database. */
  createOnDatabase: boolean
  /** The role may create temporary tables (bulk history loads stage in one). */
  tempOnDatabase: boolean
  schemaExists: boolean
  /** The schema's owner, null when there is no schema. */
  schemaOwner: string | null
  usageOnSchema: boolean
  createOnSchema: boolean
  /** `schema_migrations` exists: a crypto-etl warehouse was made here. */
  hasMigrationsTable: boolean
  /** Per table of the schema (partitions left out), the privileges the role has on it. */
  tables: { name: string; select: boolean; insert: boolean; update: boolean; delete: boolean }[]
  /** Per function of the schema, whether the role may execute it. */
  functions: { name: string; execute: boolean }[]
}

/** Reads {@link Access} in one catalog query; works for any role and on a standby. */
export async function inspectAccess(sql: Sql, schema: string): Promise<Access> {
  const [row] = await sql<(Omit<Access, 'tables' | 'functions'> & Pick<Access, 'tables' | 'functions'>)[]>`
    select current_user as role, current_database() as database,
      pg_is_in_recovery() as "inRecovery",
      current_setting('transaction_read_only') = 'on' as "readOnly",
      has_database_privilege(current_database(), 'CREATE') as "createOnDatabase",
      has_database_privilege(current_database(), 'TEMPORARY') as "tempOnDatabase",
      n.oid is not null as "schemaExists",
      pg_get_userbyid(n.nspowner) as "schemaOwner",
      coalesce(has_schema_privilege(n.oid, 'USAGE'), false) as "usageOnSchema",
      coalesce(has_schema_privilege(n.oid, 'CREATE'), false) as "createOnSchema",
      exists (select 1 from pg_class c where c.relnamespace = n.oid and c.relname = 'schema_migrations') as "hasMigrationsTable",
      coalesce((
        select json_agg(json_build_object(
          'name', c.relname,
          'select', has_table_privilege(c.oid, 'SELECT'),
          'insert', has_table_privilege(c.oid, 'INSERT'),
          'update', has_table_privilege(c.oid, 'UPDATE'),
          'delete', has_table_privilege(c.oid, 'DELETE')) order by c.relname)
        from pg_class c
        where c.relnamespace = n.oid and c.relkind in ('r', 'p') and not c.relispartition
      ), '[]') as tables,
      coalesce((
        select json_agg(json_build_object('name', p.proname, 'execute', has_function_privilege(p.oid, 'EXECUTE'))
          order by p.proname)
        from pg_proc p where p.pronamespace = n.oid
      ), '[]') as functions
    from (select 1) one left join pg_namespace n on n.nspname = ${schema}`
  return row!
}

/** `name` as SQL writes it: bare when it is a plain lower-case identifier, double-quoted otherwise. */
export function ident(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replaceAll('"', '""')}"`
}

/** The statements that give `role` what a command needs in `schema`, as docs/privileges.md lists them. */
function grantStatements(kind: 'read' | 'write', schema: string, role: string): string[] {
  const s = ident(schema)
  const r = ident(role)
  if (kind === 'read')
    return [`GRANT USAGE ON SCHEMA ${s} TO ${r};`, `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${r};`]
  return [
    `GRANT USAGE ON SCHEMA ${s} TO ${r};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r};`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${r};`,
  ]
}

/** The tables the privileges of a command apply to: all of them, `schema_migrations` only ever read. */
function missingOnTables(access: Access, kind: 'read' | 'write'): string[] {
  const missing = new Map<string, string[]>()
  for (const t of access.tables) {
    const wanted = kind === 'read' || t.name === 'schema_migrations' ? (['select'] as const) : PRIVILEGES
    for (const p of wanted) {
      if (t[p]) continue
      const tables = missing.get(p.toUpperCase()) ?? []
      missing.set(p.toUpperCase(), [...tables, t.name])
    }
  }
  return [...missing].map(([privilege, tables]) => `${privilege} on ${listed(tables)}`)
}

const PRIVILEGES = ['select', 'insert', 'update', 'delete'] as const

function listed(names: string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`
}

/**
 * Exit 78 when `kind` of work is impossible with the connected role: no USAGE on the schema, a missing
 * table privilege, and for writing EXECUTE on the schema's functions and TEMPORARY on the database.
 * Call it once the schema holds a warehouse.
 */
export function assertPrivileges(access: Access, kind: 'read' | 'write', schema: string): void {
  const missing = access.usageOnSchema ? missingOnTables(access, kind) : [`USAGE on schema ${schema}`]
  if (kind === 'write' && access.usageOnSchema) {
    const functions = access.functions.filter((f) => !f.execute).map((f) => f.name)
    if (functions.length) missing.push(`EXECUTE on ${listed(functions)}`)
    if (!access.tempOnDatabase) missing.push(`TEMPORARY on database ${access.database}`)
  }
  if (missing.length === 0) return
  const grants = grantStatements(kind, schema, access.role)
  if (!access.tempOnDatabase && kind === 'write') {
    grants.push(`GRANT TEMPORARY ON DATABASE ${ident(access.database)} TO ${ident(access.role)};`)
  }
  throw new ConfigError(
    `Role ${access.role} may not ${kind === 'read' ? 'read' : 'write'} the warehouse in schema ${schema}: it lacks ${missing.join('; ')}.`,
    `As the schema's owner${access.schemaOwner ? ` (${access.schemaOwner})` : ''}: ${grants.join(' ')}`,
  )
}

/** Exit 78 for a writing command on a read-only server, saying which kind it is. */
export function assertWritable(access: Access, location: string): void {
  if (access.inRecovery) {
    throw new ConfigError(
      `The database at ${location} is read-only: it is a hot standby (in recovery).`,
      'Writing commands need the primary; point them at it. query and status work on the standby.',
    )
  }
  if (access.readOnly) {
    throw new ConfigError(
      `The database at ${location} is read-only for role ${access.role} (default_transaction_read_only is on).`,
      `Write as a role that may, or: ALTER ROLE ${ident(access.role)} SET default_transaction_read_only = off;`,
    )
  }
}
