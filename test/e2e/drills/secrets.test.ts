/**
 * The secrets drill: failing runs at full verbosity, in text and JSON logs and with --json, against an API
 * that echoes the key in its error bodies and a database URL that carries a password; then every output
 * and every stored row is searched for the key and the password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../../src/demo/server.js'
import { runCli } from '../../helpers/cli.js'
import { TEST_DATABASE_URL } from '../../helpers/env.js'
import { cleanupDrills, DRILL_KEY, DRILL_NOW, type DrillTarget, fixture, prepareTarget } from '../../helpers/drills.js'

/** A password with characters a URL must encode: both forms are searched for. */
const PASSWORD = 'pw/Drill 7@x%Q'
const FORMS = [DRILL_KEY, PASSWORD, encodeURIComponent(PASSWORD)]

let server: FixtureServer
let t: DrillTarget
const outputs: string[] = []
const authorizations = new Set<string>()

beforeAll(async () => {
  const assets = await fixture('assets')
  assets.data[1]!.priceUsd = 2942.23 // one record to reject: rejected_records is searched too
  let rates = 0
  server = await startFixtureServer({
    now: () => DRILL_NOW,
    intercept: (req, res, url) => {
      authorizations.add(String(req.headers.authorization))
      if (url.pathname === '/v3/assets') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ data: assets.data, timestamp: DRILL_NOW }))
        return true
      }
      if (url.pathname !== '/v3/rates') return false
      const [status, error] =
        rates++ % 2 === 0 ? [500, `backend failed for key ${DRILL_KEY}`] : [401, `invalid key ${DRILL_KEY}`]
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, key: DRILL_KEY }))
      return true
    },
  })
  t = await prepareTarget('server', 'secrets', server.url)
  const url = new URL(TEST_DATABASE_URL)
  url.password = encodeURIComponent(PASSWORD)
  url.searchParams.set('application_name', t.appName)
  t.env.DATABASE_URL = url.toString()
  t.env.CRYPTO_ETL_API_RETRIES = '1'
})
afterAll(async () => {
  await server.close()
  await cleanupDrills()
})

describe('no secret in any output of a failing verbose run', () => {
  it.each([
    // rates is answered 401: a refused key ends the run with 77 whatever assets did.
    [['run', '--verbose', '--datasets', 'assets,rates'], {}, 77],
    [['run', '--verbose', '--log-format', 'json', '--datasets', 'assets,rates'], {}, 77],
    [['run', '--verbose', '--json', '--datasets', 'rates'], {}, 77],
    [['run', '--datasets', 'rates'], { DEBUG: '*' }, 77],
    [['query', '--verbose', '--sql', 'select 1/0'], {}, 2],
  ])('%j %j exits %i and prints neither the key nor the password', async (args, env, code) => {
    const r = await runCli(args, { env: { ...t.env, ...env } })
    outputs.push(r.stdout, r.stderr)
    expect(r.code, r.stderr).toBe(code)
    for (const secret of FORMS) expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('prints neither when the server is unreachable at the URL with the password (exit 74)', async () => {
    const url = new URL(t.env.DATABASE_URL!)
    url.port = '1'
    const r = await runCli(['migrate', '--verbose'], { env: { ...t.env, DATABASE_URL: url.toString() } })
    outputs.push(r.stdout, r.stderr)
    expect(r.code).toBe(74)
    for (const secret of FORMS) expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('prints neither with the password in PGPASSWORD and the server unreachable (exit 74)', async () => {
    const env = { ...t.env, DATABASE_URL: undefined, PGHOST: '127.0.0.1', PGPORT: '1', PGUSER: 'postgres' }
    const r = await runCli(['run', '--verbose'], { env: { ...env, PGPASSWORD: PASSWORD } })
    outputs.push(r.stdout, r.stderr)
    expect(r.code).toBe(74)
    for (const secret of FORMS) expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('prints and stores no key on the embedded database either', async () => {
    const embedded = await prepareTarget('embedded', 'secrets', server.url)
    const r = await runCli(['run', '--verbose', '--log-format', 'json', '--datasets', 'assets,rates'], {
      env: { ...embedded.env, CRYPTO_ETL_API_RETRIES: '1' },
    })
    expect(r.code).toBe(77)
    const rows = await embedded.query<{ row: string }>(
      'select r::text as row from etl_runs r union all select r::text from rejected_records r',
    )
    expect(rows).toHaveLength(2)
    for (const text of [r.stdout, r.stderr, ...rows.map((x) => x.row)]) expect(text).not.toContain(DRILL_KEY)
  })

  it('stores neither in etl_runs nor rejected_records, in any column', async () => {
    const runs = await t.query<{ row: string }>('select r::text as row from etl_runs r order by run_id')
    const rejected = await t.query<{ row: string }>('select r::text as row from rejected_records r')
    const statuses = await t.query<{ status: string }>('select status from etl_runs order by run_id')
    expect(statuses.map((r) => r.status)).toEqual(['partial', 'partial', 'failed', 'failed'])
    expect(rejected).toHaveLength(1) // the same record of the same answer, kept once
    for (const secret of FORMS) for (const { row } of [...runs, ...rejected]) expect(row).not.toContain(secret)
  })

  it('did use both secrets and did see the key echoed, so the searches above could have failed', () => {
    expect([...authorizations]).toEqual([`Bearer ${DRILL_KEY}`])
    const all = outputs.join('\n')
    expect(all).toContain('CoinCap answered 500: backend failed for key ***')
    expect(all).toContain('    at ') // --verbose printed stack traces, searched too
  })
})
