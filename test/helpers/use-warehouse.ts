/**
 * The warehouse of a describe block, as a hook: opened before the block's tests and dropped after them, so
 * that a test file says only which warehouse it needs and how to make it ready (migrated, seeded).
 */
import { afterAll, beforeAll } from 'vitest'
import type { Warehouse } from '../../src/warehouse/connection/connect.js'
import { type Seeded, seedWarehouse } from './seed.js'
import { openTestWarehouse, type Target, type TestWarehouse } from './warehouse.js'

/** A {@link TestWarehouse} whose fields can be read once the block's tests run (not while they are collected). */
export type UsedWarehouse = Readonly<Omit<TestWarehouse, 'cleanup'>>

/**
 * A fresh warehouse of `target` for the calling describe block: opened and made ready by `prepare` before
 * its tests, dropped (schema or data directory) after them.
 */
export function useTestWarehouse(
  target: Target,
  label: string,
  prepare?: (warehouse: Warehouse) => Promise<unknown>,
): UsedWarehouse {
  let opened: TestWarehouse | undefined
  beforeAll(async () => {
    opened = await openTestWarehouse(target, label)
    await prepare?.(opened.warehouse)
  })
  afterAll(async () => {
    await opened?.cleanup()
  })
  const current = () => opened ?? notYet(label)
  return {
    get warehouse() {
      return current().warehouse
    },
    get settings() {
      return current().settings
    },
    get env() {
      return current().env
    },
  }
}

/** {@link useTestWarehouse} with the seed data of `seedWarehouse` (`seeded` says what was seeded). */
export function useSeededWarehouse(target: Target, label: string): UsedWarehouse & { readonly seeded: Seeded } {
  let seeded: Seeded | undefined
  const t = useTestWarehouse(target, label, async (warehouse) => {
    seeded = await seedWarehouse(warehouse)
  })
  return Object.defineProperty(t, 'seeded', { get: () => seeded ?? notYet(label) }) as UsedWarehouse & {
    readonly seeded: Seeded
  }
}

function notYet(label: string): never {
  throw new Error(`The ${label} warehouse is opened before the tests run: read it inside a test or hook.`)
}
