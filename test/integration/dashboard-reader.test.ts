/**
 * The dashboard's reader: nothing it runs can write, a server cuts a slow statement off, and on the embedded
 * database it lets go of the data directory between bursts of reads, and within `maxHoldMs` however busy the
 * page keeps it, so that a writer waiting for the directory gets in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Settings } from '../../src/config/settings.js'
import {
  createReader,
  DEFAULT_READER_OPTIONS,
  type ReaderOptions,
  type WarehouseReader,
} from '../../src/dashboard/reader.js'
import { connectWarehouse } from '../../src/warehouse/connection/connect.js'
import { seedWarehouse } from '../helpers/seed.js'
import { openTestWarehouse, type Target, TARGETS, type TestWarehouse } from '../helpers/warehouse.js'

const count = (reader: WarehouseReader) =>
  reader.read(async (w) => (await w.sql<{ n: number }[]>`select count(*)::int as n from etl_runs`)[0]!.n)

/** Runs `use` with a reader of `settings`, and closes the reader however `use` ends. */
async function withReader(
  settings: Settings,
  options: ReaderOptions | undefined,
  use: (reader: WarehouseReader) => Promise<void>,
): Promise<void> {
  const reader = createReader(settings, options)
  try {
    await use(reader)
  } finally {
    await reader.close()
  }
}

/** A seeded warehouse of `target` that no connection of this process holds; and its number of runs. */
function seeded(target: Target) {
  const state = { t: undefined as unknown as TestWarehouse, runs: 0 }
  beforeAll(async () => {
    state.t = await openTestWarehouse(target, `dash_reader_${target}`)
    await seedWarehouse(state.t.warehouse)
    state.runs = (await state.t.warehouse.sql<{ n: number }[]>`select count(*)::int as n from etl_runs`)[0]!.n
    // The embedded database is held by one process at a time: the test's own connection lets go of it.
    if (target === 'embedded') await state.t.warehouse.close()
  })
  afterAll(async () => {
    if (target === 'embedded') state.t.warehouse = await connectWarehouse(state.t.settings)
    await state.t?.cleanup()
  })
  return state
}

describe.each(TARGETS)('the dashboard reader on the %s database', (target) => {
  const s = seeded(target)

  it('runs every statement read-only: a write fails with 25006 and changes nothing', async () => {
    await withReader(s.t.settings, undefined, async (reader) => {
      const write = reader.read((w) => w.sql`insert into etl_runs (command, status) values ('dashboard', 'ok')`)
      await expect(write).rejects.toMatchObject({ code: '25006' })
      const update = reader.read((w) => w.sql.begin((tx) => tx`delete from etl_runs`))
      await expect(update).rejects.toMatchObject({ code: '25006' })
      expect(await count(reader)).toBe(s.runs)
    })
  })
})

describe('the dashboard reader on the server', () => {
  const s = seeded('server')

  it('cuts a statement off after the statement timeout', async () => {
    await withReader(s.t.settings, { ...DEFAULT_READER_OPTIONS, statementTimeoutMs: 200 }, async (reader) => {
      const started = performance.now()
      await expect(reader.read((w) => w.sql`select pg_sleep(5)`)).rejects.toMatchObject({ code: '57014' })
      expect(performance.now() - started).toBeLessThan(2000)
    })
  })
})

describe('the dashboard reader on the embedded database', () => {
  const s = seeded('embedded')

  it('lets go of the data directory once the reads stop', async () => {
    await withReader(s.t.settings, { ...DEFAULT_READER_OPTIONS, lingerMs: 200 }, async (reader) => {
      expect(await count(reader)).toBe(s.runs)
      expect(reader.isOpen).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 400))
      expect(reader.isOpen).toBe(false)
      // Another process could open it now: this connection gets it without waiting.
      const other = await connectWarehouse(s.t.settings, { lockWaitMs: 0 })
      await other.close()
      expect(await count(reader)).toBe(s.runs)
    })
  })

  it('lets a waiting writer in within maxHoldMs while reads never stop', async () => {
    const options = { ...DEFAULT_READER_OPTIONS, lingerMs: 300, maxHoldMs: 600, yieldMs: 700 }
    const reader = createReader(s.t.settings, options)
    let reading = true
    const seen: number[] = []
    const reads = (async () => {
      while (reading) {
        seen.push(await count(reader))
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    })()
    try {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const writer = await connectWarehouse(s.t.settings, { lockWaitMs: 3000 })
      await writer.sql`insert into etl_runs (command, status) values ('run', 'ok')`
      await writer.close()
      const after = seen.length
      await new Promise((resolve) => setTimeout(resolve, 1500))
      reading = false
      await reads
      expect(seen.slice(after).at(-1)).toBe(s.runs + 1)
      expect(seen.every((n) => n === s.runs || n === s.runs + 1)).toBe(true)
    } finally {
      reading = false
      await reader.close()
      const cleanup = await connectWarehouse(s.t.settings)
      await cleanup.sql`delete from etl_runs where run_id = (select max(run_id) from etl_runs)`
      await cleanup.close()
    }
  })
})
