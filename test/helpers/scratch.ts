/**
 * What a test file that spawns the CLI makes and must throw away, in one place: warehouses for the CLI (a
 * fresh schema on the test server or a private copy of the embedded template), schemas, folders, CoinCap-like
 * servers.
 * One per test file; `cleanup()` in `afterAll` undoes it all, newest first, and ends the admin connection.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type postgres from 'postgres'
import { type FixtureServer, type FixtureServerOptions, startFixtureServer } from '../../src/demo/server.js'
import type { Warehouse } from '../../src/warehouse/connection/connect.js'
import { adminConnection, warehouseQuery, withWarehouse } from './inspect.js'
import { copyEmbeddedTemplate, removeDataDir, type Target, targetEnv, uniqueSchema } from './warehouse.js'

/** A warehouse as the spawned CLI sees it (`env`) and as the test looks inside it between runs. */
export interface CliWarehouse {
  target: Target
  schema: string
  /** Points the CLI at this warehouse, plus the settings the test gave. */
  env: Record<string, string>
  /** The embedded data directory (embedded target only). */
  dir?: string
  /** Runs one SQL text in the warehouse's schema. */
  query<T>(text: string): Promise<T[]>
  /** The rows of `table` (which may carry a `where`). */
  count(table: string): Promise<number>
  /** Opens the warehouse in this process between CLI runs, runs `fn`, and lets go. */
  use<T>(fn: (warehouse: Warehouse) => Promise<T>): Promise<T>
}

export class Scratch {
  /** The superuser connection to the test server. */
  readonly admin: postgres.Sql = adminConnection()
  private readonly undo: (() => Promise<unknown>)[] = []

  /** Registers work for {@link cleanup}. */
  onCleanup(fn: () => Promise<unknown>): void {
    this.undo.push(fn)
  }

  /** A schema name unique to this run, dropped (if it came to exist) at cleanup. */
  schema(label: string): string {
    const schema = uniqueSchema(label)
    this.onCleanup(() => this.admin.unsafe(`drop schema if exists "${schema}" cascade`))
    return schema
  }

  /** A temporary folder, removed at cleanup (a resident process serving it as a data directory stopped first). */
  async folder(label: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `crypto-etl-${label}-`))
    this.onCleanup(() => removeDataDir(dir))
    return dir
  }

  /** A CoinCap-like server (the demo's, answering with the bundled fixtures), closed at cleanup. */
  async coincap(options?: FixtureServerOptions): Promise<FixtureServer> {
    const server = await startFixtureServer(options)
    this.onCleanup(() => server.close())
    return server
  }

  /** A private copy of the embedded template data directory, removed at cleanup. */
  async embeddedDir(): Promise<string> {
    const dir = await copyEmbeddedTemplate()
    this.onCleanup(() => removeDataDir(dir))
    return dir
  }

  /**
   * A fresh schema on the test server or copy of the embedded template, not yet migrated, for the CLI;
   * `settings` join its environment (e.g. the API's URL and key).
   */
  async warehouse(target: Target, label: string, settings: Record<string, string> = {}): Promise<CliWarehouse> {
    const schema = target === 'server' ? this.schema(label) : uniqueSchema(label)
    const { env, dir } = await targetEnv(target, schema)
    if (dir) this.onCleanup(() => removeDataDir(dir))
    Object.assign(env, settings)
    const query = warehouseQuery(target, this.admin, schema, env)
    const count = async (table: string) =>
      Number((await query<{ n: number }>(`select count(*)::int as n from ${table}`)).at(-1)?.n)
    return { target, schema, env, dir, query, count, use: (fn) => withWarehouse(env, fn) }
  }

  /** Undoes everything registered, newest first, every step even when one fails; then ends the admin connection. */
  async cleanup(): Promise<void> {
    const failures: unknown[] = []
    for (const fn of this.undo.splice(0).reverse()) await fn().catch((error: unknown) => failures.push(error))
    await this.admin.end()
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} cleanup step(s) failed`)
  }
}
