/**
 * SIGTERM during `prune` on the server (fast). SIGTERM during `run` is in test/e2e/run.test.ts, during a
 * server `backfill` in test/e2e/backfill.test.ts; the embedded prune and backfill are in signals.slow.test.ts.
 */
import { afterAll, describe, it } from 'vitest'
import { cleanupDrills, pruneSigtermDrill } from '../../helpers/drills.js'

afterAll(cleanupDrills)

describe('SIGTERM on the server database', () => {
  it('stops prune with 143 between whole partitions, records it interrupted, and a re-run finishes', async () => {
    await pruneSigtermDrill('server')
  })
})
