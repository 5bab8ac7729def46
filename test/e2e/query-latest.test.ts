import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli, ONLY_WAREHOUSE_LINE } from '../helpers/cli.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS } from '../helpers/warehouse.js'

const T = Date.parse('2026-01-15T12:00:00.000Z')
const MIN = 60_000
const HOUR = 60 * MIN

interface LatestRow {
  asset_id: string
  symbol: string
  observed_at: string
}

describe.each(TARGETS)('query latest on the %s database after a run of a few --assets', (target) => {
  let server: FixtureServer
  let clock = T
  let env: Record<string, string>
  const scratch = new Scratch()

  const cli = async (...args: string[]) => {
    const r = await runCli(args, { env })
    // run and prune tell their progress on stderr; a report has nothing to say there.
    if (args[0] === 'query') expect(r.stderr).toMatch(ONLY_WAREHOUSE_LINE)
    expect(r.code).toBe(0)
    return r.stdout
  }
  const latest = async (...flags: string[]) =>
    JSON.parse(await cli('query', 'latest', '--format', 'json', ...flags)) as LatestRow[]
  const at = (ms: number) => new Date(ms).toISOString()

  beforeAll(async () => {
    server = await startFixtureServer({ now: () => clock })
    const made = await scratch.warehouse(target, `e2e_latest_${target}`, {
      COINCAP_API_URL: server.url,
      COINCAP_API_KEY: 'e2e-latest-key',
      CRYPTO_ETL_API_RETRIES: '1',
    })
    env = made.env
    await cli('run', '--datasets', 'assets')
    clock = T + 5 * MIN
    await cli('run', '--datasets', 'assets', '--assets', 'tron')
  })
  afterAll(async () => {
    await server?.close()
    await scratch.cleanup()
  })

  it('lists every asset with its own newest price, not only the one the last run asked for', async () => {
    const rows = await latest('--limit', '200')
    expect(rows).toHaveLength(100)
    expect(rows.slice(0, 3).map((r) => [r.asset_id, r.observed_at])).toEqual([
      ['bitcoin', at(T)],
      ['ethereum', at(T)],
      ['tether', at(T)],
    ])
    expect(rows.find((r) => r.asset_id === 'tron')?.observed_at).toBe(at(T + 5 * MIN))
    expect(rows.filter((r) => r.observed_at === at(T))).toHaveLength(99)
  })

  it('shows them in the default table, top 20 by rank, the newer TRX among them', async () => {
    const lines = (await cli('query')).split('\n').filter((l) => /^│ +\d+ │/.test(l))
    expect(lines).toHaveLength(20)
    expect(lines[0]).toMatch(/^│ +1 │ BTC +│ Bitcoin +│/)
    expect(lines.filter((l) => /│ TRX +│ TRON +│/.test(l))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('2026-01-15 12:05:00Z'))).toHaveLength(1)
  })

  it('falls back to the older snapshot of an asset whose newest run was rolled back', async () => {
    const runs = JSON.parse(await cli('query', 'runs', '--format', 'json')) as { run_id: number }[]
    await cli('prune', '--run', String(runs[0]!.run_id))
    const rows = await latest('--limit', '200')
    expect(rows).toHaveLength(100)
    expect(rows.find((r) => r.asset_id === 'tron')?.observed_at).toBe(at(T))
  })

  it('leaves out assets not observed in the day before the newest snapshot (still there with --asset)', async () => {
    clock = T + 25 * HOUR
    await cli('run', '--datasets', 'assets', '--assets', 'tron')
    expect((await latest()).map((r) => [r.asset_id, r.observed_at])).toEqual([['tron', at(T + 25 * HOUR)]])
    expect((await latest('--asset', 'bitcoin')).map((r) => [r.asset_id, r.observed_at])).toEqual([['bitcoin', at(T)]])
  })
})
