/**
 * The settings file: every command reads `~/.config/crypto-etl/env` (or the file `--env-file` /
 * `CRYPTO_ETL_ENV_FILE` names), in a shell and in cron's bare environment alike.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, runCli, runProcess } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { schemaExists as schemaOnServer } from '../helpers/inspect.js'
import { Scratch } from '../helpers/scratch.js'
import { useScratchCoincap } from '../helpers/use-coincap.js'

const API_KEY = 'settings-secret-key-5150'
const scratch = new Scratch()
const api = useScratchCoincap(scratch)

const schemaExists = (schema: string) => schemaOnServer(scratch.admin, schema)

/** A home folder whose settings file (at `config`/crypto-etl/env, default ~/.config) holds `lines`. */
async function homeWithSettings(lines: string[], config = '.config'): Promise<string> {
  const home = await scratch.folder('settings')
  mkdirSync(join(home, config, 'crypto-etl'), { recursive: true })
  writeFileSync(join(home, config, 'crypto-etl', 'env'), lines.map((l) => `${l}\n`).join(''), { mode: 0o600 })
  return home
}

/** Runs the CLI as cron does: `env -i HOME=...`, nothing else set, node by its absolute path. */
function underCron(home: string, args: string[], extra: string[] = []) {
  return runProcess('env', ['-i', `HOME=${home}`, ...extra, process.execPath, BIN, ...args], { timeoutMs: 60_000 })
}

describe('the settings file ~/.config/crypto-etl/env', () => {
  it('is read by every command, in a shell and under cron: status and query show what run loaded', async () => {
    const schema = scratch.schema('settings_file')
    const home = await homeWithSettings([
      `DATABASE_URL=${TEST_DATABASE_URL}`,
      `CRYPTO_ETL_SCHEMA=${schema}`,
      `COINCAP_API_KEY=${API_KEY}`,
      `COINCAP_API_URL=${api.server.url}`,
    ])
    const run = await underCron(home, ['run', '--datasets', 'assets,rates'])
    expect(run.code, run.stderr).toBe(0)
    const [row] = await scratch.admin.unsafe(`select count(*)::int as n from "${schema}".asset_snapshots`)
    expect(row?.n).toBe(100)

    const sql = ['query', '--sql', 'select count(*) as n from asset_snapshots', '--format', 'csv']
    for (const ran of [await underCron(home, sql), await runCli(sql, { env: { HOME: home } })]) {
      expect(ran.code, ran.stderr).toBe(0)
      expect(ran.stdout).toBe('n\n100\n')
    }
    for (const args of [
      ['status', '--json'],
      ['migrate', '--json'],
      ['prune', '--older-than', '30d', '--dry-run'],
    ]) {
      const ran = await runCli(args, { env: { HOME: home } })
      expect(ran.code, `${args.join(' ')}: ${ran.stderr}`).toBe(0)
      expect(ran.stdout + ran.stderr).not.toContain(API_KEY)
    }
    // None of them fell back to an empty embedded database.
    expect(existsSync(join(home, '.local', 'share', 'crypto-etl'))).toBe(false)
  })

  it('is found under XDG_CONFIG_HOME when that is set', async () => {
    const schema = scratch.schema('settings_xdg')
    const home = await homeWithSettings([`DATABASE_URL=${TEST_DATABASE_URL}`, `CRYPTO_ETL_SCHEMA=${schema}`], 'xdg')
    const r = await underCron(home, ['migrate'], [`XDG_CONFIG_HOME=${join(home, 'xdg')}`])
    expect(r.code, r.stderr).toBe(0)
    expect(await schemaExists(schema)).toBe(true)
    expect(existsSync(join(home, '.local', 'share', 'crypto-etl'))).toBe(false)
  })

  it('ranks below the environment and flags, above the defaults', async () => {
    const [inFile, inEnv, inFlag] = ['file', 'env', 'flag'].map((w) => scratch.schema(`settings_rank_${w}`)) as [
      string,
      string,
      string,
    ]
    const home = await homeWithSettings([`DATABASE_URL=${TEST_DATABASE_URL}`, `CRYPTO_ETL_SCHEMA=${inFile}`])
    const byEnv = await runCli(['migrate'], { env: { HOME: home, CRYPTO_ETL_SCHEMA: inEnv } })
    expect(byEnv.code, byEnv.stderr).toBe(0)
    const byFlag = await runCli(['migrate', '--schema', inFlag], { env: { HOME: home, CRYPTO_ETL_SCHEMA: inEnv } })
    expect(byFlag.code, byFlag.stderr).toBe(0)
    expect(await Promise.all([inFile, inEnv, inFlag].map(schemaExists))).toEqual([false, true, true])
  })

  it('is replaced by the file CRYPTO_ETL_ENV_FILE or --env-file names', async () => {
    const [inDefault, inNamed, inFlagged] = ['default', 'named', 'flagged'].map((w) =>
      scratch.schema(`settings_${w}`),
    ) as [string, string, string]
    const home = await homeWithSettings([`DATABASE_URL=${TEST_DATABASE_URL}`, `CRYPTO_ETL_SCHEMA=${inDefault}`])
    const named = join(home, 'named.env')
    writeFileSync(named, `DATABASE_URL=${TEST_DATABASE_URL}\nCRYPTO_ETL_SCHEMA=${inNamed}\n`)
    const flagged = join(home, 'flagged.env')
    writeFileSync(flagged, `DATABASE_URL=${TEST_DATABASE_URL}\nCRYPTO_ETL_SCHEMA=${inFlagged}\n`)
    expect((await underCron(home, ['migrate'], [`CRYPTO_ETL_ENV_FILE=${named}`])).code).toBe(0)
    expect((await underCron(home, ['migrate', '--env-file', flagged], [`CRYPTO_ETL_ENV_FILE=${named}`])).code).toBe(0)
    expect(await Promise.all([inDefault, inNamed, inFlagged].map(schemaExists))).toEqual([false, true, true])
  })
})

describe('a settings file that cannot be read', () => {
  it.each([['run'], ['status'], ['query'], ['migrate'], ['load', '-'], ['backfill', '--assets', 'bitcoin']])(
    '%s exits 78 with one line naming a missing CRYPTO_ETL_ENV_FILE',
    async (...args) => {
      const home = await scratch.folder('settings')
      const missing = join(home, 'missing.env')
      const r = await underCron(home, args, [`CRYPTO_ETL_ENV_FILE=${missing}`])
      expect(r.code).toBe(78)
      expect(r.stderr).toBe(
        `Error: Cannot read the settings file ${missing} (named by CRYPTO_ETL_ENV_FILE): no such file.\n` +
          'Create it (crypto-etl schedule --init writes a template), or name another with --env-file / CRYPTO_ETL_ENV_FILE.\n',
      )
      expect(r.stdout).toBe('')
      expect(existsSync(join(home, '.local', 'share', 'crypto-etl'))).toBe(false)
    },
  )

  it('exits 78 naming a default settings file that is not a readable file', async () => {
    const home = await scratch.folder('settings')
    const path = join(home, '.config', 'crypto-etl', 'env')
    mkdirSync(path, { recursive: true })
    const r = await underCron(home, ['status'])
    expect(r.code).toBe(78)
    expect(r.stderr.split('\n')[0]).toBe(`Error: Cannot read the settings file ${path}: it is a folder.`)
  })

  it('exits 78 naming the setting when the default settings file holds an invalid one', async () => {
    const home = await homeWithSettings(['CRYPTO_ETL_SCHEMA=Not-Valid'])
    const r = await underCron(home, ['query'])
    expect(r.code).toBe(78)
    expect(r.stderr.split('\n')[0]).toBe(
      'Error: Invalid setting --schema / CRYPTO_ETL_SCHEMA: must be a lower-case identifier (letters, digits, _), e.g. coincap.',
    )
  })
})

describe('PGUSER or PGDATABASE without PGHOST', () => {
  const { username, pathname } = new URL(TEST_DATABASE_URL)
  const database = pathname.slice(1)

  it.each([
    ['PGUSER and PGDATABASE', { PGUSER: username, PGDATABASE: database }],
    // The user is then the system's, as with psql (root here, which the test server knows).
    ['PGDATABASE and PGPORT', { PGDATABASE: database, PGPORT: '5432' }],
  ])('%s reach the server on its default Unix socket, as libpq does, not the embedded database', async (_, pg) => {
    const schema = scratch.schema('settings_socket')
    const home = await scratch.folder('settings')
    const env = { HOME: home, CRYPTO_ETL_SCHEMA: schema, ...pg }
    const migrate = await runCli(['migrate'], { env })
    expect(migrate.code, migrate.stderr).toBe(0)
    expect(await schemaExists(schema)).toBe(true)
    const user = 'PGUSER' in pg ? `${pg.PGUSER}@` : ''
    expect(migrate.stderr).toMatch(
      new RegExp(
        `^Warehouse: postgres://${user}/${database}\\?host=(/var/run/postgresql|/tmp)&port=5432 schema ${schema}$`,
        'm',
      ),
    )
    const status = await runCli(['status', '--json'], { env })
    expect(status.code, status.stderr).toBe(0)
    expect(existsSync(join(home, '.local', 'share', 'crypto-etl'))).toBe(false)
  })
})
