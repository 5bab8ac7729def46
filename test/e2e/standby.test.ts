/**
 * Reading from a streaming hot standby: `run` loads the primary, `query` and `status` read the standby,
 * and every writing command pointed at the standby exits 78 saying it is read-only.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { runCli, ONLY_WAREHOUSE_LINE } from '../helpers/cli.js'
import { type StandbyPair, startStandbyPair } from '../helpers/standby.js'
import { WRITING_COMMANDS, withLanding } from '../helpers/writing-commands.js'

const NOW = Date.parse('2026-02-03T04:05:06.000Z')
let pair: StandbyPair
let server: FixtureServer
let folder: string

beforeAll(async () => {
  pair = await startStandbyPair()
  server = await startFixtureServer({ now: () => NOW })
  folder = await mkdtemp(join(tmpdir(), 'crypto-etl-standby-'))
})
afterAll(async () => {
  await server?.close()
  await pair?.stop()
  await rm(folder, { recursive: true, force: true })
})

const env = (url: string) => ({ DATABASE_URL: url, COINCAP_API_URL: server.url, COINCAP_API_KEY: 'e2e-standby-key' })
const standbyLocation = () => new URL(pair.standbyUrl).host + new URL(pair.standbyUrl).pathname

describe('a primary and its streaming hot standby', () => {
  it('query and status on the standby read what run loaded into the primary', async () => {
    const run = await runCli(['run', '--json'], { env: env(pair.primaryUrl) })
    expect(run.code, run.stderr).toBe(0)
    await pair.caughtUp()
    const query = await runCli(['query', '--format', 'csv', '--limit', '2'], { env: env(pair.standbyUrl) })
    expect(query.stderr).toMatch(ONLY_WAREHOUSE_LINE)
    expect(query.code).toBe(0)
    const topTwo = query.stdout.split('\n').slice(1, 3)
    expect(topTwo.map((line) => line.split(',').slice(1, 3))).toEqual([
      ['bitcoin', 'BTC'],
      ['ethereum', 'ETH'],
    ])
    const status = await runCli(['status', '--json'], { env: env(pair.standbyUrl) })
    expect(status.stderr).toBe('')
    expect(status.code).toBe(0)
    const result = JSON.parse(status.stdout)
    expect(
      result.datasets.filter((d: { newest: string | null }) => d.newest).map((d: { dataset: string }) => d.dataset),
    ).toEqual(['assets', 'exchanges', 'rates'])
    expect(result.datasets[0].newest).toBe(new Date(NOW).toISOString())
    expect(result.runs.map((r: { command: string; status: string }) => [r.command, r.status])).toEqual([['run', 'ok']])
  })

  it.each(WRITING_COMMANDS)('%s against the standby exits 78 saying it is a read-only hot standby', async (_, args) => {
    const landing = join(folder, 'empty.ndjson')
    await writeFile(landing, '')
    const requests = server.requests.length
    const r = await runCli(withLanding(args, landing), { env: env(pair.standbyUrl) })
    expect(r.code).toBe(78)
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      `Error: The database at ${standbyLocation()} is read-only: it is a hot standby (in recovery).`,
      'Writing commands need the primary; point them at it. query and status work on the standby.',
    ])
    expect(server.requests.length).toBe(requests)
  })

  it.each([['query'], ['status']])('%s on the standby in a schema without a warehouse exits 78', async (command) => {
    const r = await runCli([command, '--schema', 'nothing_here'], { env: env(pair.standbyUrl) })
    expect(r.code).toBe(78)
    expect(r.stderr).toBe(
      `Error: No crypto-etl warehouse in schema nothing_here on ${standbyLocation()}; create one with: crypto-etl migrate\n`,
    )
  })
})
