/**
 * The demo's CoinCap-like server as a hook: started before the tests of the calling file or describe block
 * (or before each test) and closed after them, so that a test file says only when it needs one.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { type FixtureServer, type FixtureServerOptions, startFixtureServer } from '../../src/demo/server.js'
import type { Scratch } from './scratch.js'

/** The server of the running tests; a test may replace it (closing the old one), the hook closes the last. */
export interface UsedCoincap {
  server: FixtureServer
}

/** A server started before the tests of the calling block and closed after them. */
export function useCoincap(options?: FixtureServerOptions): UsedCoincap {
  const used = {} as UsedCoincap
  beforeAll(async () => {
    used.server = await startFixtureServer(options)
  })
  afterAll(async () => {
    await used.server?.close()
  })
  return used
}

/** A server started before each test of the calling block and closed after it: each test counts its own requests. */
export function useCoincapPerTest(options: FixtureServerOptions): UsedCoincap {
  const used = {} as UsedCoincap
  beforeEach(async () => {
    used.server = await startFixtureServer(options)
  })
  afterEach(async () => {
    await used.server.close()
  })
  return used
}

/** The Scratch of a test file with its server, started before the file's tests; both undone after them. */
export function useScratchCoincap(scratch: Scratch, options?: FixtureServerOptions): UsedCoincap {
  const used = {} as UsedCoincap
  beforeAll(async () => {
    used.server = await scratch.coincap(options)
  })
  afterAll(() => scratch.cleanup())
  return used
}
