/**
 * Locks as leases: one row in `run_leases` per held lock, naming its holder (run, pid, host) with an expiry
 * the holder renews. Each statement stands alone, with no session state, so a lock works behind a pooler in
 * transaction mode and never outlives its process: a lease no longer renewed expires, and one whose holder
 * was a process of this host that is gone (or, on the embedded database, any other process: its data
 * directory admits one at a time) is taken over at once.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type { Db, Warehouse } from '../connection/connect.js'

/** How long a lease lasts without renewal: the longest a lock can outlive a holder on another host. */
export const LEASE_SECONDS = 60
/** How often a holder renews its leases. */
const RENEW_EVERY_MS = 15_000

/** This process as a holder of leases. */
const SELF = { holder: randomUUID(), pid: process.pid, host: hostname() }

/** Who holds a lease: its run (once known), process and host, and since when. */
export interface LeaseHolder {
  holder: string
  runId: number | null
  pid: number
  host: string
  acquiredAt: Date
  expired: boolean
}

export interface HeldLock {
  /** Names the run that holds the lock, for the message of whoever is refused it. */
  attach(runId: number): Promise<void>
  /** Gives the lock up; never throws (a lease left behind expires). */
  release(): Promise<void>
}

/** A taken lock, or who holds it. */
export type LockAttempt = { lock: HeldLock; holder?: undefined } | { lock?: undefined; holder: LeaseHolder }

/**
 * Whether the holder of a lease may still be working: its lease is not expired and, when it is a process of
 * this host (or of the embedded database, where only this process can be), that process is this one or alive.
 */
export function holderAlive(warehouse: Pick<Warehouse, 'kind'>, holder: LeaseHolder): boolean {
  if (holder.holder === SELF.holder) return true
  if (holder.expired || warehouse.kind === 'embedded') return false
  return holder.host !== SELF.host || processAlive(holder.pid)
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** "run 41 (started 12:00:03 UTC, pid 1234 on host x)": who holds a lock, for messages. */
export function describeHolder(holder: LeaseHolder): string {
  const time = holder.acquiredAt.toISOString().slice(11, 19)
  const who = `started ${time} UTC, pid ${holder.pid} on host ${holder.host}`
  return holder.runId === null ? `a process (${who})` : `run ${holder.runId} (${who})`
}

/**
 * Takes the lock `name` of the warehouse's schema without waiting. When a live holder has it, says who;
 * a lease whose holder is gone is taken over (the takeover is a compare-and-set on the old holder, so two
 * processes cannot both win it).
 */
export async function tryLock(warehouse: Warehouse, name: string, runId: number | null = null): Promise<LockAttempt> {
  const { sql } = warehouse
  const table = sql`${sql(warehouse.schema)}.run_leases`
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const inserted = await sql`
      insert into ${table} (name, holder, run_id, pid, host, expires_at)
      values (${name}, ${SELF.holder}, ${runId}, ${SELF.pid}, ${SELF.host}, now() + make_interval(secs => ${LEASE_SECONDS}))
      on conflict (name) do nothing
      returning name`
    if (inserted.length > 0) return { lock: keepLease(warehouse, name) }
    const [current] = await sql<LeaseRow[]>`
      select holder, run_id::float8 as run_id, pid, host, acquired_at, expires_at < now() as expired
      from ${table} where name = ${name}`
    if (!current) continue // released meanwhile: try again
    const holder = toHolder(current)
    if (holderAlive(warehouse, holder)) return { holder }
    const taken = await sql`
      update ${table} set holder = ${SELF.holder}, run_id = ${runId}, pid = ${SELF.pid}, host = ${SELF.host},
        acquired_at = now(), expires_at = now() + make_interval(secs => ${LEASE_SECONDS})
      where name = ${name} and holder = ${holder.holder}
      returning name`
    if (taken.length > 0) return { lock: keepLease(warehouse, name) }
  }
  throw new Error(`The lock ${name} changed hands three times while it was being taken.`)
}

interface LeaseRow {
  holder: string
  run_id: number | null
  pid: number
  host: string
  acquired_at: Date
  expired: boolean
}

function toHolder(row: LeaseRow): LeaseHolder {
  return {
    holder: row.holder,
    runId: row.run_id,
    pid: row.pid,
    host: row.host,
    acquiredAt: row.acquired_at,
    expired: row.expired,
  }
}

/** A lease of this process, renewed until released. */
function keepLease(warehouse: Warehouse, name: string): HeldLock {
  const { sql } = warehouse
  const table = sql`${sql(warehouse.schema)}.run_leases`
  const renewal = setInterval(() => {
    sql`update ${table} set expires_at = now() + make_interval(secs => ${LEASE_SECONDS})
      where name = ${name} and holder = ${SELF.holder}`.catch(() => {}) // a missed renewal: the next may pass
  }, RENEW_EVERY_MS).unref()
  return {
    async attach(runId) {
      await sql`update ${table} set run_id = ${runId} where name = ${name} and holder = ${SELF.holder}`
    },
    async release() {
      clearInterval(renewal)
      await sql`delete from ${table} where name = ${name} and holder = ${SELF.holder}`.catch(() => {})
    },
  }
}

/** The lock of `run`. */
export function tryRunLock(warehouse: Warehouse): Promise<LockAttempt> {
  return tryLock(warehouse, 'run')
}

/**
 * The lease that says run `runId` is alive, inserted with its `running` row (see `startRun`): values for
 * `run_leases` (name, holder, run_id, pid, host, expires_at).
 */
export function runLeaseName(runId: number | string): string {
  return `etl_run:${runId}`
}

/** This process, as `startRun` records it in the lease of a run. */
export const LEASE_HOLDER = SELF

/** Renews the lease of run `runId` until `stop()`; used by `startRun`. */
export function renewRunLease(sql: Db, runId: number): { stop(): void } {
  const timer = setInterval(() => {
    sql`update run_leases set expires_at = now() + make_interval(secs => ${LEASE_SECONDS})
      where name = ${runLeaseName(runId)} and holder = ${SELF.holder}`.catch(() => {})
  }, RENEW_EVERY_MS).unref()
  return { stop: () => clearInterval(timer) }
}
