/**
 * Bad-input drills: every command's flags given invalid values exit 2 with one or two lines and no stack,
 * before any request or write; invalid settings exit 78; hostile strings in ids and filters stay values
 * (one URL-encoded query parameter, a bound SQL parameter) and the tables are still there afterwards.
 */
import { writeFile } from 'node:fs/promises'
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
  tempDir,
} from '../../helpers/drills.js'
import { schemaExists } from '../../helpers/inspect.js'

let server: FixtureServer
/** Where parse failures point: a schema that must never come to exist (nothing is written before parsing). */
let untouched: DrillTarget
/** A migrated warehouse with one snapshot, for the failures that reach the database. */
let loaded: DrillTarget

beforeAll(async () => {
  server = await startFixtureServer({ now: () => DRILL_NOW })
  untouched = await prepareTarget('server', 'bad_flags', server.url)
  loaded = await prepareTarget('server', 'hostile', server.url)
  expect((await runCli(['run'], { env: loaded.env })).code).toBe(0)
  server.requests.length = 0
})
afterAll(async () => {
  await server.close()
  await cleanupDrills()
})

const INTERVALS = 'm1, m5, m15, m30, h1, h2, h6, h12, d1'
const NOT_A_TIME = 'is neither a date (2025-01-01, 2025-01-01T12:00Z) nor a duration (30d).'

/** [arguments, the exact first line of stderr] for each invalid flag value of each command. */
const USAGE_ERRORS: [string[], string][] = [
  [['run', '--limit', '-1'], 'Error: --limit: Expected an integer greater than or equal to 1 but received: -1'],
  [['run', '--limit', 'abc'], 'Error: --limit: Expected an integer but received: abc'],
  [
    ['run', '--limit', '100001'],
    'Error: --limit: Expected an integer less than or equal to 100000 but received: 100001',
  ],
  [
    ['run', '--datasets', 'foo'],
    "Error: --datasets: Unknown value 'foo'; expected one of assets, exchanges, markets, rates.",
  ],
  [['run', '--datasets', ','], 'Error: --datasets: Expected a comma-separated list.'],
  [['run', '--assets', 'bitcoin', '--limit', '5'], 'Error: --limit=5 cannot also be provided when using --assets'],
  [['run', '--log-format', 'xml'], 'Error: Expected --log-format=xml to be one of: text, json'],
  [['run', '--quiet', '--verbose'], 'Error: --verbose=true cannot also be provided when using --quiet'],
  [['run', '--bogus'], 'Error: Unknown flag --bogus.'],
  [['extract', '--json'], ''], // under --json the error is the JSON object on stdout (checked below)
  [['load', '/nonexistent/snapshot.ndjson'], 'Error: Cannot read /nonexistent/snapshot.ndjson: ENOENT.'],
  [['load', '/tmp'], 'Error: Cannot read /tmp: EISDIR.'],
  [['load', 'a.ndjson', 'b.ndjson'], 'Error: Unexpected argument: b.ndjson'],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'm7', '--from', '1d'],
    `Error: Expected --interval=m7 to be one of: ${INTERVALS}`,
  ],
  [
    ['backfill', '--top', '-3', '--interval', 'h1', '--from', '1d'],
    'Error: --top: Expected an integer greater than or equal to 1 but received: -3',
  ],
  [
    ['backfill', '--top', 'ten', '--interval', 'h1', '--from', '1d'],
    'Error: --top: Expected an integer but received: ten',
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--top', '3', '--interval', 'h1', '--from', '1d'],
    'Error: Name the assets with one of --assets bitcoin,ethereum or --top 10.',
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '2025-02-30'],
    `Error: --from: '2025-02-30' ${NOT_A_TIME}`,
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '1d', '--to', 'yesterday'],
    `Error: --to: 'yesterday' ${NOT_A_TIME}`,
  ],
  [
    ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '1d', '--window', '7x'],
    "Error: --window: '7x' is not a duration; use e.g. 90s, 15m, 1h, 30d, 2w.",
  ],
  [['prune', '--older-than', '30x'], `Error: --older-than: '30x' ${NOT_A_TIME}`],
  [['prune', '--newer-than', '2025-13-01'], `Error: --newer-than: '2025-13-01' ${NOT_A_TIME}`],
  [
    ['prune', '--older-than', '1d', '--datasets', 'foo'],
    "Error: --datasets: Unknown value 'foo'; expected one of assets, exchanges, markets, rates, history.",
  ],
  [
    ['prune', '--run', '-5'],
    "Error: --run: '-5' is not a run id; use a number from etl_runs.run_id (crypto-etl query runs).",
  ],
  [['prune'], 'Error: Nothing to prune: give --older-than, --newer-than or --run.'],
  [['query', '--format', 'xml'], 'Error: Expected --format=xml to be one of: table, csv, json'],
  [['query', '--since', '2025-02-30'], `Error: --since: '2025-02-30' ${NOT_A_TIME}`],
  [['query', '--until', 'soon'], `Error: --until: 'soon' ${NOT_A_TIME}`],
  [['query', '--interval', 'm7'], `Error: Expected --interval=m7 to be one of: ${INTERVALS}`],
  [['query', '--chart', '--format', 'csv'], 'Error: --chart draws for the terminal; drop --format.'],
  [['status', '--max-age', '7x'], "Error: --max-age: '7x' is not a duration; use e.g. 90s, 15m, 1h, 30d, 2w."],
  [['status', '--runs', '0'], 'Error: --runs: Expected an integer greater than or equal to 1 but received: 0'],
  [['migrate', '--bogus'], 'Error: Unknown flag --bogus.'],
  [['schedule', '--every', '7m'], 'Error: cron cannot run assets,exchanges,rates every 7m evenly; use 6m or 10m.'],
  [['schedule', '--every', '5m', '--format', 'xml'], 'Error: Expected --format=xml to be one of: cron, systemd'],
  [
    ['schedule', '--dataset-every', 'foo=5m'],
    "Error: --dataset-every: Unknown dataset 'foo' in 'foo=5m'; expected one of assets, exchanges, markets, rates.",
  ],
  [
    ['schedule', '--every', '5m', '--', '--limit', '-1'],
    'Error: After --: Parsing --limit: Expected an integer greater than or equal to 1 but received: -1',
  ],
  [['nosuchcommand'], 'Error: Unknown command nosuchcommand.'],
]

describe.concurrent('invalid flags and arguments', () => {
  it.each(USAGE_ERRORS)('%j exits 2 with one or two lines, before any request or write', async (args, line) => {
    const r = await runCli(args, { env: untouched.env })
    if (args.includes('--json')) {
      expect(r.code).toBe(2)
      expect(JSON.parse(r.stdout)).toEqual({
        error: {
          name: 'UsageError',
          message: '--json needs --output: stdout carries the landing data.',
          exitCode: 2,
        },
      })
    } else {
      expect(expectCleanFailure(r, 2)[0]).toBe(line)
    }
    expect(server.requests).toEqual([])
  })

  it('exits 2 naming the path when extract cannot create its --output file', async () => {
    const r = await runCli(['extract', '--datasets', 'rates', '--output', '/nonexistent/dir/snapshot.ndjson'], {
      env: untouched.env,
    })
    const [line] = expectCleanFailure(r, 2)
    expect(line).toContain('/nonexistent/dir/snapshot.ndjson')
  })
})

describe.concurrent('invalid settings', () => {
  it.each([
    [
      ['--schema', 'Bad;Name'],
      {},
      'Error: Invalid setting --schema / CRYPTO_ETL_SCHEMA: must be a lower-case identifier (letters, digits, _), e.g. coincap.',
    ],
    [['--api-url', 'ftp://x'], {}, 'Error: Invalid setting --api-url / COINCAP_API_URL: must be an http(s) URL.'],
    [
      ['--database-url', 'mysql://u:p@h/db'],
      {},
      'Error: Invalid setting --database-url / DATABASE_URL: must be a URL like postgres://user@host:5432/db.',
    ],
    [
      [],
      { CRYPTO_ETL_API_RETRIES: 'many' },
      'Error: Invalid setting CRYPTO_ETL_API_RETRIES: Invalid input: expected number, received NaN.',
    ],
    [
      [],
      { CRYPTO_ETL_API_TIMEOUT: '7x' },
      'Error: Invalid setting CRYPTO_ETL_API_TIMEOUT: must be a duration such as 30s.',
    ],
    [[], { PGPORT: 'abc', DATABASE_URL: undefined, PGHOST: '127.0.0.1' }, 'Error: Invalid setting PGPORT:'],
  ])('run %j %j exits 78 with one line', async (args, env, line) => {
    const r = await runCli(['run', ...args], { env: { ...untouched.env, ...env } })
    expect(expectCleanFailure(r, 78)[0]).toContain(line)
    expect(server.requests).toEqual([])
  })

  it('exits 78 naming the setting when the --env-file holds an invalid value', async () => {
    const file = `${await tempDir('envfile')}/env`
    await writeFile(file, 'CRYPTO_ETL_LOG_FORMAT=yaml\n')
    const r = await runCli(['run', '--env-file', file], { env: untouched.env })
    expect(expectCleanFailure(r, 78)[0]).toBe(
      'Error: Invalid setting --log-format / CRYPTO_ETL_LOG_FORMAT: Invalid option: expected one of "text"|"json".',
    )
  })

  it('stops with one line naming a missing --env-file (Node itself answers it, with exit 9)', async () => {
    // Node (20, 22, 24) checks a script argument named --env-file itself and exits 9 before crypto-etl starts
    // (nodejs/node#54232); crypto-etl cannot answer it. CRYPTO_ETL_ENV_FILE, which schedule writes, gets the 78 (e2e/settings).
    const r = await runCli(['run', '--env-file', '/nonexistent/crypto-etl.env'], { env: untouched.env })
    expect(r.code).toBe(9)
    expect(r.stderr.trim()).toBe(`${process.execPath}: /nonexistent/crypto-etl.env: not found`)
  })
})

describe('after the invalid flags and settings', () => {
  it('nothing was written: the schema they pointed at does not exist', async () => {
    expect(await schemaExists(adminSql(), untouched.schema)).toBe(false)
  })
})

/** Decoded query parameters of the requests the server saw, with their paths. */
function seen(): { path: string; params: [string, string][] }[] {
  return server.requests.map((r) => {
    const url = new URL(r, 'http://x')
    return { path: url.pathname, params: [...url.searchParams.entries()] }
  })
}

async function tablesLeft(t: DrillTarget): Promise<number> {
  const [row] = await adminSql()`
    select count(*)::int as n from information_schema.tables
    where table_schema = ${t.schema} and table_name in ('assets', 'asset_snapshots', 'rate_snapshots', 'etl_runs')`
  return row!.n
}

describe('hostile strings stay values', () => {
  it.each([["bitcoin'; drop table assets;--"], ['../../etc/passwd'], ['%00'], ['bitcoin&limit=2000']])(
    'run --assets %j sends it as one URL-encoded ids value and exits 2: CoinCap does not know it',
    async (id) => {
      server.requests.length = 0
      const r = await runCli(['run', '--datasets', 'assets', '--assets', id], { env: loaded.env })
      expect(expectCleanFailure(r, 2)[0]).toBe(`Error: CoinCap does not know asset '${id}'.`)
      expect(seen()).toEqual([
        {
          path: '/v3/assets',
          params: [
            ['ids', id],
            ['limit', '1'],
          ],
        },
      ])
      expect(await tablesLeft(loaded)).toBe(4)
      expect(await loaded.count('asset_snapshots')).toBe(100)
    },
  )

  it('run --markets-exchange "binance&baseId=ethereum" sends one exchangeId value', async () => {
    server.requests.length = 0
    const r = await runCli(['run', '--datasets', 'markets', '--markets-exchange', 'binance&baseId=ethereum'], {
      env: loaded.env,
    })
    expect(r.code).toBe(0)
    expect(seen()).toEqual([
      {
        path: '/v3/markets',
        params: [
          ['exchangeId', 'binance&baseId=ethereum'],
          ['limit', '2000'],
          ['offset', '0'],
        ],
      },
    ])
  })

  it('backfill --assets "../../etc/passwd" asks for the history of that one id, slashes encoded', async () => {
    server.requests.length = 0
    // One day on the epoch grid in one 1-day window: a relative range can straddle two windows, fetched at once.
    const range = ['--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z', '--window', '1d']
    const args = ['backfill', '--assets', '../../etc/passwd', '--interval', 'h1', ...range]
    const r = await runCli(args, { env: loaded.env })
    expect(expectCleanFailure(r, 2)[0]).toBe("Error: CoinCap does not know asset '../../etc/passwd'.")
    expect(server.requests.map((u) => u.split('?')[0])).toEqual(['/v3/assets/..%2F..%2Fetc%2Fpasswd/history'])
  })

  it.each([['..'], ['.']])('backfill --assets %j is refused as an id (exit 2) before any request', async (id) => {
    // Dot segments survive encodeURIComponent and a URL resolves them: assets/../history would be GET /v3/history.
    server.requests.length = 0
    const r = await runCli(['backfill', '--assets', id, '--interval', 'h1', '--from', '2d'], { env: loaded.env })
    expectCleanFailure(r, 2)
    expect(server.requests).toEqual([])
  })

  it.each([
    ['backfill', '--interval', 'h1', '--from', '2d'],
    ['run', '--datasets', 'assets'],
  ])('%s --assets Bitcoin is refused (exit 2) before any request: ids are lowercase', async (command, ...rest) => {
    server.requests.length = 0
    const r = await runCli([command!, '--assets', 'bitcoin,Bitcoin', ...rest], { env: loaded.env })
    expect(expectCleanFailure(r, 2)[0]).toBe(
      "Error: --assets: 'Bitcoin' is not an asset id: CoinCap ids are lowercase ('bitcoin').",
    )
    expect(server.requests).toEqual([])
  })

  it.each([
    [['query', '--symbol', "x' or '1'='1", '--format', 'json']],
    [['query', '--asset', "bitcoin'--", '--format', 'json']],
    [['query', 'history', '--asset', '%00', '--format', 'json']],
  ])('%j matches nothing: exit 0, an empty JSON array, tables intact', async (args) => {
    const r = await runCli(args, { env: loaded.env })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual([])
    expect(await tablesLeft(loaded)).toBe(4)
  })

  it('query history --symbol with SQL in it is an unknown symbol: exit 2, tables intact', async () => {
    const symbol = "BTC' union select * from etl_runs--"
    const r = await runCli(['query', 'history', '--symbol', symbol], { env: loaded.env })
    expect(expectCleanFailure(r, 2)[0]).toBe(`Error: No asset has the symbol '${symbol}'.`)
    expect(await tablesLeft(loaded)).toBe(4)
  })

  it('query --currency with SQL in it is an unknown currency: exit 2, tables intact', async () => {
    const r = await runCli(['query', '--currency', "EUR'; drop table rate_snapshots;--"], { env: loaded.env })
    expect(expectCleanFailure(r, 2)[0]).toBe(
      "Error: Unknown currency 'EUR'; drop table rate_snapshots;--': no rate with that symbol in rate_snapshots.",
    )
    expect(await loaded.count('rate_snapshots')).toBe(16)
  })

  it.each([
    [
      'delete from assets',
      'Error: --sql runs one read-only query: it takes a SELECT, WITH, VALUES or TABLE query, not DELETE.',
    ],
    [
      'select 1; drop table assets',
      'Error: --sql runs one read-only query: it takes one statement, and this has more (a ; between statements).',
    ],
  ])('query --sql %j is refused: exit 2, tables intact', async (sql, line) => {
    const r = await runCli(['query', '--sql', sql], { env: loaded.env })
    expect(expectCleanFailure(r, 2)[0]).toBe(line)
    expect(await tablesLeft(loaded)).toBe(4)
    expect(await loaded.count('assets')).toBe(100)
  })
})
