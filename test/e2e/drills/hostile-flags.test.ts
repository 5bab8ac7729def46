/**
 * Flag values that overflow: a duration that reaches before the year 1, a count beyond any integer the
 * database takes. Each is a usage error (2) found while parsing, before any request or write; once, they
 * reached Postgres and came back as exit 74 ("time zone displacement out of range").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { runCli } from '../../helpers/cli.js'
import {
  adminSql,
  cleanupDrills,
  DRILL_NOW,
  type DrillTarget,
  expectCleanFailure,
  prepareTarget,
} from '../../helpers/drills.js'

let server: FixtureServer
/** A schema that must never come to exist: nothing is written before the flags are parsed. */
let untouched: DrillTarget

beforeAll(async () => {
  server = await startFixtureServer({ now: () => DRILL_NOW })
  untouched = await prepareTarget('server', 'overflow', server.url)
})
afterAll(async () => {
  await server.close()
  await cleanupDrills()
})

const OUT_OF_RANGE = 'is out of range: give a time between the years 1 and 9999.'
const tooLarge = (flag: string, value: string) =>
  `Error: --${flag}: Expected an integer less than or equal to 1000000000 but received: ${value}`

const OVERFLOWS: [string[], string][] = [
  [['query', 'history', '--asset', 'bitcoin', '--since', '100000000d'], `Error: --since: '100000000d' ${OUT_OF_RANGE}`],
  [['query', 'movers', '--since', '100000000d'], `Error: --since: '100000000d' ${OUT_OF_RANGE}`],
  [['query', 'runs', '--since', '3000000d'], `Error: --since: '3000000d' ${OUT_OF_RANGE}`],
  [['query', 'history', '--asset', 'bitcoin', '--until', '0000-12-31'], `Error: --until: '0000-12-31' ${OUT_OF_RANGE}`],
  [
    ['query', 'gaps', '--asset', 'bitcoin', '--interval', 'd1', '--since', '100000000d'],
    `Error: --since: '100000000d' ${OUT_OF_RANGE}`,
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '1000000d'],
    `Error: --from: '1000000d' ${OUT_OF_RANGE}`,
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'd1', '--from', '30d', '--to', '1000000d'],
    `Error: --to: '1000000d' ${OUT_OF_RANGE}`,
  ],
  [['prune', '--older-than', '100000000d'], `Error: --older-than: '100000000d' ${OUT_OF_RANGE}`],
  [['prune', '--newer-than', '800000d'], `Error: --newer-than: '800000d' ${OUT_OF_RANGE}`],
  [
    ['prune', '--older-than', '99999999999d'],
    "Error: --older-than: '99999999999d' is neither a date (2025-01-01, 2025-01-01T12:00Z) nor a duration (30d).",
  ],
  [['query', '--limit', '9999999999999999999999'], tooLarge('limit', '9999999999999999999999')],
  [['query', 'runs', '--limit', '99999999999'], tooLarge('limit', '99999999999')],
  [['status', '--runs', '3000000000'], tooLarge('runs', '3000000000')],
  [['run', '--datasets', 'markets', '--markets-limit', '99999999999'], tooLarge('markets-limit', '99999999999')],
  [['schedule', '--every', '5m', '--budget', '1e30'], 'Error: --budget: Expected an integer but received: 1e30'],
]

describe.concurrent('flag values that overflow', () => {
  it.each(OVERFLOWS)('%j exits 2 with one line, before any request or write', async (args, line) => {
    const r = await runCli(args, { env: untouched.env })
    expect(expectCleanFailure(r, 2)[0]).toBe(line)
    expect(server.requests).toEqual([])
  })
})

describe('after the overflowing flags', () => {
  it('nothing was written: the schema they pointed at does not exist', async () => {
    const [row] = await adminSql()`select to_regnamespace(${untouched.schema}) is null as absent`
    expect(row?.absent).toBe(true)
  })
})
