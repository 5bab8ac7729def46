/**
 * How the dashboard reaches the warehouse: read-only, every statement under a timeout, and on the embedded
 * database only while it reads. The embedded data directory is held by one process at a time, so keeping it
 * open would make every cron `run` fail with 74; instead the reader opens it for a burst of reads (a page
 * refresh asks several endpoints at once) and closes it soon after (see {@link lingeringReader}). A run waits
 * up to 12 s for the directory; the dashboard holds it for a second or two at a time. With the resident process
 * (the default) the same bursts are turns at the resident, which serves one client at a time.
 */
import type { Settings } from '../config/settings.js'
import { connectWarehouse, describeTarget, type Warehouse } from '../warehouse/connection/connect.js'
import { embeddedExists } from '../warehouse/embedded/embedded.js'
import { checkReadable, noWarehouseError } from '../warehouse/migrate.js'

export interface ReaderOptions {
  /** Each statement is cut off after this long (servers; the embedded database cannot enforce it). */
  statementTimeoutMs: number
  /** Embedded: how long the database stays open after the last read, for the rest of a page's requests. */
  lingerMs: number
  /** Embedded: the longest it stays open, however busy the page is. */
  maxHoldMs: number
  /** Embedded: how long it stays closed after that, for a run waiting for the data directory. */
  yieldMs: number
  /** Embedded: how long to wait for a run that holds the data directory before the read fails (74). */
  lockWaitMs: number
}

/** Runs reads against the warehouse; `close()` ends them for good. */
export interface WarehouseReader {
  readonly kind: Warehouse['kind']
  read<T>(fn: (warehouse: Warehouse) => Promise<T>): Promise<T>
  /** Whether the embedded database is open right now (it is not between bursts of reads). */
  readonly isOpen: boolean
  close(): Promise<void>
}

export const DEFAULT_READER_OPTIONS: ReaderOptions = {
  statementTimeoutMs: 5_000,
  lingerMs: 500,
  maxHoldMs: 2_000,
  yieldMs: 1_000,
  lockWaitMs: 5_000,
}

/** A reader for the warehouse the settings name; nothing is opened until the first read. */
export function createReader(settings: Settings, options: ReaderOptions = DEFAULT_READER_OPTIONS): WarehouseReader {
  const open = async () => {
    // Opening an embedded database that is not there would create one.
    const { database } = settings
    if (database.kind === 'embedded' && !embeddedExists(database.dataDir)) {
      throw noWarehouseError(settings.schema, describeTarget(settings))
    }
    const warehouse = await connectWarehouse(settings, {
      readOnlyTimeoutMs: options.statementTimeoutMs,
      lockWaitMs: options.lockWaitMs,
      // Reads are small; a statement unanswered twice as long as the timeout means the database is gone.
      answerTimeoutSeconds: (2 * options.statementTimeoutMs) / 1000,
    })
    try {
      await checkReadable(warehouse)
    } catch (error) {
      await warehouse.close()
      throw error
    }
    return warehouse
  }
  return settings.database.kind === 'embedded' ? lingeringReader(open, options) : keptReader(open)
}

/** A server: one pool, opened at the first read and kept. */
function keptReader(open: () => Promise<Warehouse>): WarehouseReader {
  let opening: Promise<Warehouse> | undefined
  return {
    kind: 'server',
    isOpen: true,
    async read(fn) {
      opening ??= open().catch((error: unknown) => {
        opening = undefined
        throw error
      })
      return fn(await opening)
    },
    async close() {
      const warehouse = await opening?.catch(() => undefined)
      await warehouse?.close()
    },
  }
}

/**
 * The embedded database: reads run one after another (PGlite answers one at a time anyway) on a database
 * opened for them, closed once no read came for `lingerMs`, and closed after `maxHoldMs` however busy the
 * page is; then it stays closed for `yieldMs`, so that a run waiting for the directory (it tries every
 * 250 ms) gets it before the dashboard opens it again.
 */
function lingeringReader(open: () => Promise<Warehouse>, options: ReaderOptions): WarehouseReader {
  let chain: Promise<unknown> = Promise.resolve()
  let warehouse: Warehouse | undefined
  let openedAt = 0
  let reopenAt = 0
  let timer: NodeJS.Timeout | undefined
  let stopped = false

  const release = async () => {
    const open = warehouse
    if (!open) return
    warehouse = undefined
    await open.close()
    reopenAt = Date.now() + options.yieldMs
  }
  const step = async <T>(fn: (warehouse: Warehouse) => Promise<T>): Promise<T> => {
    clearTimeout(timer)
    if (stopped) throw new Error('the dashboard is stopping')
    if (warehouse && Date.now() - openedAt >= options.maxHoldMs) await release()
    if (!warehouse) {
      await delay(reopenAt - Date.now())
      warehouse = await open()
      openedAt = Date.now()
    }
    const current = warehouse
    try {
      return await fn(current)
    } finally {
      // A statement that went unanswered leaves the connection unusable: the next read opens anew.
      if (current.noAnswer) await release()
    }
  }
  return {
    kind: 'embedded',
    get isOpen() {
      return warehouse !== undefined
    },
    read(fn) {
      const result = chain.then(() => step(fn))
      chain = result
        .catch(() => {})
        .then(() => {
          timer = setTimeout(() => {
            chain = chain.then(release)
          }, options.lingerMs)
        })
      return result
    },
    async close() {
      stopped = true
      clearTimeout(timer)
      chain = chain.catch(() => {}).then(release)
      await chain
    },
  }
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve()
}
