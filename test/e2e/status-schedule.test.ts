import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli, ONLY_WAREHOUSE_LINE } from '../helpers/cli.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS } from '../helpers/warehouse.js'

const HOUR = 3_600_000
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

describe.each(TARGETS)(
  'status --max-age on the %s database judges the runs of the schedule, not ad-hoc ones',
  (target) => {
    let server: FixtureServer
    /** The time the CoinCap-like server stamps its answers with: the age of what a run loads. */
    let clock = Date.now()
    let env: Record<string, string>
    beforeEach(async () => {
      clock = Date.now()
      server = await startFixtureServer({ now: () => clock })
      const made = await scratch.warehouse(target, 'e2e_status_schedule', {
        COINCAP_API_URL: server.url,
        COINCAP_API_KEY: 'e2e-status-key',
        CRYPTO_ETL_API_RETRIES: '1',
      })
      env = made.env
    })
    afterEach(async () => {
      await server.close()
    })
    const cli = (...args: string[]) => runCli(args, { env })
    const loadedAgo = async (ms: number, ...args: string[]) => {
      clock = Date.now() - ms
      const r = await cli(...args)
      clock = Date.now()
      return r
    }

    it('stays quiet after ad-hoc runs of other datasets, a failed ad-hoc run and a one-off load', async () => {
      expect((await cli('run', '--datasets', 'assets,rates', '--scheduled')).code).toBe(0)
      // The day's ad-hoc work: markets once, an hour-old landing file loaded, a run with a rejected key.
      expect((await loadedAgo(HOUR, 'run', '--datasets', 'markets')).code).toBe(0)
      const file = join(await scratch.folder('status'), 'exchanges.jsonl')
      expect((await loadedAgo(HOUR, 'extract', '--datasets', 'exchanges', '--output', file)).code).toBe(0)
      expect((await cli('load', file)).code).toBe(0)
      const failed = await runCli(['run', '--datasets', 'exchanges'], {
        env: { ...env, COINCAP_API_URL: 'http://127.0.0.1:1/v3' },
      })
      expect(failed.code).not.toBe(0)

      const r = await cli('status', '--max-age', '15m')
      expect(r.stderr).toMatch(ONLY_WAREHOUSE_LINE)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('Scheduled: loaded by the runs of the schedule (run --scheduled) in the last 7 days.')
      expect(r.stdout).toContain('Healthy: every scheduled dataset is newer than 15m and the last run succeeded.')
      const json = JSON.parse((await cli('status', '--max-age', '15m', '--json')).stdout)
      expect(json.watchedBy).toBe('scheduled runs')
      expect(
        json.datasets.filter((d: { scheduled: boolean }) => d.scheduled).map((d: { dataset: string }) => d.dataset),
      ).toEqual(['assets', 'rates'])
    })

    it('catches a scheduled dataset that stopped, and a failed scheduled run, however fresh the ad-hoc data', async () => {
      // Two groups of the schedule: rates ran two hours ago and then stopped; assets runs on.
      expect((await loadedAgo(2 * HOUR, 'run', '--datasets', 'rates', '--scheduled')).code).toBe(0)
      expect((await cli('run', '--datasets', 'assets', '--scheduled')).code).toBe(0)
      let r = await cli('status', '--max-age', '15m')
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^unhealthy: rates: newest data is 2h(\d+s)? old \(.+\), older than 15m$/),
        expect.stringMatching(/^Warehouse: /),
      ])

      // --datasets names what to watch instead: assets alone is healthy, markets is not.
      expect((await cli('status', '--max-age', '15m', '--datasets', 'assets')).code).toBe(0)
      r = await cli('status', '--max-age', '15m', '--datasets', 'assets,markets')
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^unhealthy: markets: no data in market_snapshots\nWarehouse: .+\n$/)

      // A scheduled run that fails is caught; an ad-hoc one after it does not hide it.
      const failed = await runCli(['run', '--datasets', 'assets', '--scheduled'], {
        env: { ...env, COINCAP_API_URL: 'http://127.0.0.1:1/v3' },
      })
      expect(failed.code).not.toBe(0)
      expect((await cli('run', '--datasets', 'assets')).code).toBe(0)
      r = await cli('status', '--max-age', '15m', '--datasets', 'assets')
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^unhealthy: last run #\d+ ended (failed|partial): /)
    })
  },
)
