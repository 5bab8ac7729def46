import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseEnvFile } from 'dotenv'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, runCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { withWarehouse } from '../helpers/inspect.js'
import { Scratch } from '../helpers/scratch.js'

const CLI = realpathSync(BIN)
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

/** A home folder of its own, with an env file (mode 600) holding `lines`. */
async function newHome(
  lines: string[] = [],
): Promise<{ home: string; envFile: string; env: Record<string, string | undefined> }> {
  const home = await scratch.folder('schedule')
  const envFile = join(home, 'etl.env')
  writeFileSync(envFile, lines.map((l) => `${l}\n`).join(''))
  chmodSync(envFile, 0o600)
  return { home, envFile, env: { HOME: home, XDG_CONFIG_HOME: undefined, XDG_STATE_HOME: undefined } }
}

/** The environment cron gives a job: HOME, LOGNAME, SHELL and a PATH where, here, node cannot be found. */
const cronEnv = (home: string) => ({ HOME: home, LOGNAME: 'ann', SHELL: '/bin/sh', PATH: '/nonexistent' })

/** A `crontab` program that keeps the crontab in a file of `home`, on PATH of the returned environment. */
function fakeCrontab(home: string, env: Record<string, string | undefined>) {
  const fakeBin = join(home, 'bin')
  mkdirSync(fakeBin, { recursive: true })
  const store = join(home, 'crontab.txt')
  writeFileSync(
    join(fakeBin, 'crontab'),
    [
      '#!/bin/sh',
      'if [ "$1" = "-l" ]; then',
      '  if [ -f "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"; else echo "no crontab for ann" >&2; exit 1; fi',
      'elif [ "$1" = "-" ]; then cat > "$FAKE_CRONTAB"',
      'else exit 2; fi',
      '',
    ].join('\n'),
    { mode: 0o755 },
  )
  return { store, env: { ...env, PATH: `${fakeBin}:${process.env.PATH}`, FAKE_CRONTAB: store } }
}

const commandLines = (stdout: string) => stdout.split('\n').filter((l) => l && !l.startsWith('#'))

/** Reads the runs recorded in an embedded data directory. */
function embeddedRuns(dataDir: string) {
  return withWarehouse(
    { CRYPTO_ETL_DATA_DIR: dataDir },
    (warehouse) => warehouse.sql<{ command: string; status: string; datasets: string[] }[]>`
      select command, status, datasets from etl_runs order by run_id`,
  )
}

const hasSystemdAnalyze = !spawnSync('systemd-analyze', ['--version']).error

describe('schedule --format cron', () => {
  it('prints a crontab line with five time fields, absolute node and CLI paths, the env file and a log file', async () => {
    const { home, envFile, env } = await newHome(['COINCAP_API_KEY=k-123456'])
    const r = await runCli(['schedule', '--every', '5m', '--env-file', envFile], { env })
    expect(r.code, r.stderr).toBe(0)
    const [line, ...more] = commandLines(r.stdout)
    expect(more).toEqual([])
    const fields = line!.split(' ')
    expect(fields.slice(0, 5).join(' ')).toMatch(/^(\*\/5|[1-4]-59\/5) \* \* \* \*$/)
    expect(fields.slice(5).join(' ')).toBe(
      `CRYPTO_ETL_ENV_FILE=${envFile} ${process.execPath} ${CLI} run --datasets assets,exchanges,rates --scheduled --log-format json >> ${home}/.local/state/crypto-etl/cron.log 2>&1`,
    )
    expect(r.stderr).toContain('  total 328,320 a month: the Professional plan (675,000) covers it.')
    expect(r.stderr).toContain(
      'Estimated storage: ~25.4 MiB a day, ~761.1 MiB a month, growing until pruned.\n' +
        '  Keep 30 days with a daily (the commented line in the block): crypto-etl prune --older-than 30d\n',
    )
    expect(r.stdout).toMatch(
      /^# 17 3 \* \* \* CRYPTO_ETL_ENV_FILE=\S+ \S+ \S+ prune --older-than 30d --log-format json >> /m,
    )
    expect(r.stderr).toContain("warn: 328,320 credits a month exceeds CoinCap's free tier (4,000)")
    expect(r.stdout + r.stderr).not.toContain('k-123456')
  })

  it("runs the printed command under cron's bare environment, reading the env file and logging to the file", async () => {
    const dataDir = await scratch.embeddedDir()
    const { home, envFile, env } = await newHome([`CRYPTO_ETL_DATA_DIR=${dataDir}`])
    const r = await runCli(['schedule', '--every', '1h', '--env-file', envFile, '--', '--demo'], { env })
    expect(r.code, r.stderr).toBe(0)
    const logDir = join(home, '.local', 'state', 'crypto-etl')
    expect(r.stderr).toContain(`Create the log folder first: mkdir -p ${logDir}`)
    mkdirSync(logDir, { recursive: true })
    const command = commandLines(r.stdout)[0]!.replace(/^(\S+ ){5}/, '')
    const job = spawnSync('/bin/sh', ['-c', command], { env: cronEnv(home), encoding: 'utf8', timeout: 60_000 })
    expect(job.status).toBe(0)
    expect(job.stdout + job.stderr).toBe('')
    const log = readFileSync(join(logDir, 'cron.log'), 'utf8')
    expect(log).toMatch(/^\{"time":"[^"]+","level":"info","msg":/m)
    expect(await embeddedRuns(dataDir)).toEqual([
      { command: 'run --demo', status: 'ok', datasets: ['assets', 'exchanges', 'rates'] },
    ])
  })

  it("installs into the user's crontab through crontab, keeping other lines and replacing its own block", async () => {
    const { home, envFile, env } = await newHome(['COINCAP_API_KEY=k-123456'])
    const { store, env: withCrontab } = fakeCrontab(home, env)

    const first = await runCli(['schedule', '--every', '1h', '--env-file', envFile, '--install'], { env: withCrontab })
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toContain('Added the crypto-etl block to your crontab (crontab -l shows it).')
    expect(readFileSync(store, 'utf8')).toBe(first.stdout)
    expect(existsSync(join(home, '.local', 'state', 'crypto-etl'))).toBe(true)

    writeFileSync(store, `MAILTO=ann\n${readFileSync(store, 'utf8')}0 3 * * * /usr/local/bin/backup\n`)
    const second = await runCli(['schedule', '--every', '15m', '--env-file', envFile, '--install'], {
      env: withCrontab,
    })
    expect(second.code).toBe(0)
    expect(second.stderr).toContain('Replaced the crypto-etl block in your crontab')
    expect(readFileSync(store, 'utf8')).toBe(`MAILTO=ann\n${second.stdout}0 3 * * * /usr/local/bin/backup\n`)
  })

  it('refuses a cadence cron cannot run evenly, in one line, exit 2', async () => {
    const { env } = await newHome()
    const r = await runCli(['schedule', '--every', '7m'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('Error: cron cannot run assets,exchanges,rates every 7m evenly; use 6m or 10m.\n')
    expect(r.stdout).toBe('')
  })

  it("checks the flags after -- with run's own parser (exit 2)", async () => {
    const { env } = await newHome()
    const r = await runCli(['schedule', '--every', '5m', '--', '--limt', '5'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('Error: After --: Unknown flag --limt. Did you mean --limit?\nSee crypto-etl run --help.\n')
  })

  it('refuses an API key after -- without repeating it (exit 2)', async () => {
    const { env } = await newHome()
    const r = await runCli(['schedule', '--every', '5m', '--', '--api-key', 'sk-live-998877'], { env })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: --api-key does not belong after --/)
    expect(r.stdout + r.stderr).not.toContain('sk-live-998877')
  })

  it('names settings of this shell that cron would not see', async () => {
    const { envFile, env } = await newHome(['COINCAP_API_KEY=k-123456'])
    const r = await runCli(['schedule', '--every', '1h', '--env-file', envFile], {
      env: { ...env, CRYPTO_ETL_SCHEMA: 'market' },
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(
      `warn: cron will not see CRYPTO_ETL_SCHEMA (set in this shell or given as flags): put it in ${envFile}.`,
    )
  })
  it('names the secrets given as flags, not the flags it forwards or that shape its own output', async () => {
    const { envFile, env } = await newHome(['COINCAP_API_KEY=k-123456', 'CRYPTO_ETL_API_RETRIES=2'])
    const url = 'postgres://etl:pw-98765@db.example:5432/market'
    const args = ['--schema', 'market', '--log-format', 'json', '--database-url', url, '--api-key', 'k-654321']
    const r = await runCli(['schedule', '--every', '1h', '--env-file', envFile, ...args], {
      env: { ...env, CRYPTO_ETL_API_RETRIES: '3' },
    })
    expect(r.code, r.stderr).toBe(0)
    const warnings = r.stderr.split('\n').filter((l) => l.includes('will not see'))
    // COINCAP_API_KEY is in the settings file as the flag's variable, CRYPTO_ETL_API_RETRIES as the shell's.
    expect(warnings.map((l) => JSON.parse(l).msg)).toEqual([
      `cron will not see DATABASE_URL (set in this shell or given as flags): put it in ${envFile}.`,
    ])
    expect(r.stdout + r.stderr).not.toContain('pw-98765')
  })
})

describe('schedule --format systemd', () => {
  it('installs a service and timer per cadence that systemd-analyze accepts', async () => {
    const { home, envFile, env } = await newHome(['COINCAP_API_KEY=k-123456'])
    const config = join(home, 'config')
    const r = await runCli(
      [
        'schedule',
        '--format',
        'systemd',
        '--dataset-every',
        'assets=5m,exchanges=1h',
        '--env-file',
        envFile,
        '--install',
      ],
      { env: { ...env, XDG_CONFIG_HOME: config } },
    )
    expect(r.code, r.stderr).toBe(0)
    const unitDir = join(config, 'systemd', 'user')
    const names = [
      'crypto-etl-assets.service',
      'crypto-etl-assets.timer',
      'crypto-etl-exchanges.service',
      'crypto-etl-exchanges.timer',
    ]
    for (const name of names)
      expect(r.stdout).toContain(`# ${join(unitDir, name)}\n${readFileSync(join(unitDir, name), 'utf8')}`)
    expect(r.stderr).toContain('  systemctl --user enable --now crypto-etl-assets.timer crypto-etl-exchanges.timer\n')
    const calendars = names
      .filter((n) => n.endsWith('.timer'))
      .flatMap((n) => readFileSync(join(unitDir, n), 'utf8').match(/^OnCalendar=.*$/gm) ?? [])
      .map((l) => l.slice('OnCalendar='.length))
    expect(calendars).toHaveLength(2)
    if (!hasSystemdAnalyze) return
    const calendar = spawnSync('systemd-analyze', ['calendar', ...calendars], { encoding: 'utf8' })
    expect(calendar.status, calendar.stderr).toBe(0)
    const runtime = await scratch.folder('runtime')
    const verify = spawnSync('systemd-analyze', ['verify', '--user', ...names.map((n) => join(unitDir, n))], {
      encoding: 'utf8',
      env: { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: home },
    })
    expect({ status: verify.status, stderr: verify.stderr }).toEqual({ status: 0, stderr: '' })
  })

  it('runs ExecStart with the settings file named in Environment= and nothing else', async () => {
    const dataDir = await scratch.embeddedDir()
    const { home, envFile, env } = await newHome([`CRYPTO_ETL_DATA_DIR=${dataDir}`])
    const r = await runCli(
      ['schedule', '--format', 'systemd', '--every', '1h', '--env-file', envFile, '--', '--demo'],
      {
        env,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    const execStart = r.stdout.match(/^ExecStart=(.*)$/m)![1]!
    expect(execStart).toBe(`${process.execPath} ${CLI} run --datasets assets,exchanges,rates --scheduled --demo`)
    expect(r.stdout.match(/^Environment.*$/gm)).toEqual([`Environment=CRYPTO_ETL_ENV_FILE=${envFile}`])
    // What systemd --user does: the words of ExecStart (all plain here), Environment=, no PATH to rely on.
    const [node, ...args] = execStart.split(' ')
    const job = spawnSync(node!, args, {
      env: { HOME: home, PATH: '/nonexistent', CRYPTO_ETL_ENV_FILE: envFile },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(job.status, job.stderr).toBe(0)
    expect(await embeddedRuns(dataDir)).toEqual([
      { command: 'run --demo', status: 'ok', datasets: ['assets', 'exchanges', 'rates'] },
    ])
  })
})

describe('schedule cost', () => {
  it('prices a cadence from the recent runs of the same datasets in the warehouse', async () => {
    const schema = scratch.schema('schedule_cost')
    const admin = scratch.admin
    const { env } = await newHome()
    const settings = { ...env, DATABASE_URL: TEST_DATABASE_URL, CRYPTO_ETL_SCHEMA: schema }
    expect((await runCli(['migrate'], { env: settings })).code).toBe(0)
    await admin.unsafe(`
      insert into "${schema}".etl_runs (command, status, datasets, api_credits, started_at) values
        ('run', 'ok', '{rates,assets,exchanges}', 30, now() - interval '1 hour'),
        ('run', 'ok', '{assets,exchanges,rates}', 34, now() - interval '2 hours'),
        ('run', 'failed', '{assets,exchanges,rates}', 100, now() - interval '3 hours'),
        ('run', 'ok', '{assets,exchanges,rates}', 90, now() - interval '30 days'),
        ('run', 'ok', '{assets}', 19, now() - interval '1 hour')`)
    const r = await runCli(['schedule', '--every', '1h', '--budget', '20000', '--json'], { env: settings })
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.groups[0].cost).toEqual({ perRun: 32, runsPerMonth: 720, perMonth: 23_040, source: 'measured', runs: 2 })
    expect(out.cost).toEqual({
      perMonth: 23_040,
      plan: 'Basic',
      planCredits: 75_000,
      budget: 20_000,
      overBudget: true,
      overFreeTier: true,
    })
    expect(r.stderr).toContain('warn: 23,040 credits a month exceeds your budget of 20,000.')
  })

  it('estimates from typical sizes without creating an embedded database', async () => {
    const { home, env } = await newHome()
    const dataDir = join(home, 'no-database-here')
    const r = await runCli(['schedule', '--every', '1d', '--data-dir', dataDir, '--json'], { env })
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).groups[0].cost).toEqual({
      perRun: 38,
      runsPerMonth: 30,
      perMonth: 1140,
      source: 'typical',
    })
    expect(existsSync(dataDir)).toBe(false)
    expect(r.stderr).not.toContain('warn:')
  })
})

describe('schedule and the settings file', () => {
  it.each([
    ['missing', () => {}, 'no such file'],
    ['a folder', (path: string) => mkdirSync(path), 'it is a folder'],
  ])('the printed cron command exits 78 naming a settings file that is %s, as cron runs it', async (_, make, why) => {
    const { home, env } = await newHome()
    const settingsFile = join(home, 'settings.env')
    // Named by the variable: as a flag, Node itself would answer for a missing file (exit 9).
    const r = await runCli(['schedule', '--every', '1h'], { env: { ...env, CRYPTO_ETL_ENV_FILE: settingsFile } })
    expect(r.code, r.stderr).toBe(0)
    make(settingsFile)
    const logDir = join(home, '.local', 'state', 'crypto-etl')
    mkdirSync(logDir, { recursive: true })
    const command = commandLines(r.stdout)[0]!.replace(/^(\S+ ){5}/, '')
    const job = spawnSync('/bin/sh', ['-c', command], { env: cronEnv(home), encoding: 'utf8', timeout: 60_000 })
    expect(job.status).toBe(78)
    const log = readFileSync(join(logDir, 'cron.log'), 'utf8')
    expect(log).toContain(`Cannot read the settings file ${settingsFile} (named by CRYPTO_ETL_ENV_FILE): ${why}.`)
  })

  it('the printed systemd service exits 78 naming a missing settings file', async () => {
    const { home, env } = await newHome()
    const missing = join(home, 'missing.env')
    const r = await runCli(['schedule', '--format', 'systemd', '--every', '1h'], {
      env: { ...env, CRYPTO_ETL_ENV_FILE: missing },
    })
    expect(r.code, r.stderr).toBe(0)
    const [node, ...args] = r.stdout.match(/^ExecStart=(.*)$/m)![1]!.split(' ')
    const variable = r.stdout.match(/^Environment=(.*)$/m)![1]!
    expect(variable).toBe(`CRYPTO_ETL_ENV_FILE=${missing}`)
    const job = spawnSync(node!, args, {
      env: { HOME: home, PATH: '/nonexistent', CRYPTO_ETL_ENV_FILE: missing },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(job.status).toBe(78)
    expect(job.stderr.split('\n')[0]).toBe(
      `Error: Cannot read the settings file ${missing} (named by CRYPTO_ETL_ENV_FILE): no such file.`,
    )
  })

  it.each(['cron', 'systemd'])(
    '--install (%s) refuses while the settings file is missing or has no key; --init writes a 0600 template',
    async (format) => {
      const { home, env } = await newHome()
      const config = join(home, 'config')
      const { store, env: withCrontab } = fakeCrontab(home, { ...env, XDG_CONFIG_HOME: config })
      const settingsFile = join(config, 'crypto-etl', 'env')
      const unitDir = join(config, 'systemd', 'user')
      const install = ['schedule', '--format', format, '--every', '1h', '--install']
      const nothingInstalled = () => expect([existsSync(store), existsSync(unitDir)]).toEqual([false, false])

      const missing = await runCli(install, { env: withCrontab })
      expect(missing.code).toBe(78)
      expect(missing.stderr).toContain(
        `Error: Not installing: the settings file ${settingsFile} does not exist, so every run would fail.\n` +
          'Create it (crypto-etl schedule --init writes a template), set COINCAP_API_KEY in it, then install again.\n',
      )
      nothingInstalled()

      const init = await runCli([...install, '--init'], { env: withCrontab })
      expect(init.code).toBe(78)
      expect(init.stderr).toContain(`Wrote ${settingsFile} (mode 600): set COINCAP_API_KEY in it`)
      expect(init.stderr).toContain(
        `Error: Not installing: ${settingsFile} sets no COINCAP_API_KEY, so every run would exit 77.\n`,
      )
      expect(statSync(settingsFile).mode & 0o777).toBe(0o600)
      expect(parseEnvFile(readFileSync(settingsFile))).toEqual({ COINCAP_API_KEY: '' })
      nothingInstalled()

      const again = await runCli(['schedule', '--every', '1h', '--init'], { env: withCrontab })
      expect(again.stderr).toContain(`${settingsFile} exists: left as it is.`)

      writeFileSync(settingsFile, 'COINCAP_API_KEY=k-123456\n')
      const done = await runCli(install, { env: withCrontab })
      expect(done.code, done.stderr).toBe(0)
      expect(format === 'cron' ? existsSync(store) : existsSync(join(unitDir, 'crypto-etl.timer'))).toBe(true)
    },
  )

  it('--install of a --demo schedule needs no key, only the settings file', async () => {
    const { home, envFile, env } = await newHome([])
    const { store, env: withCrontab } = fakeCrontab(home, env)
    const r = await runCli(['schedule', '--every', '1h', '--env-file', envFile, '--install', '--', '--demo'], {
      env: withCrontab,
    })
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(store, 'utf8')).toBe(r.stdout)
  })

  it.each(['cron', 'systemd'])('--install (%s) refuses above --budget unless --force (exit 2)', async (format) => {
    const { home, envFile, env } = await newHome(['COINCAP_API_KEY=k-123456'])
    const config = join(home, 'config')
    const { store, env: withCrontab } = fakeCrontab(home, { ...env, XDG_CONFIG_HOME: config })
    const install = ['schedule', '--format', format, '--every', '1h', '--env-file', envFile, '--install']
    const refused = await runCli([...install, '--budget', '20000'], { env: withCrontab })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(
      'Error: Not installing: ~27,360 CoinCap credits a month exceeds your budget of 20,000.\n' +
        'Choose a longer cadence, fewer datasets or fewer assets, or install anyway with --force.\n',
    )
    expect([existsSync(store), existsSync(join(config, 'systemd'))]).toEqual([false, false])
    const forced = await runCli([...install, '--budget', '20000', '--force'], { env: withCrontab })
    expect(forced.code, forced.stderr).toBe(0)
    const within = await runCli([...install, '--budget', '30000'], { env: withCrontab })
    expect(within.code, within.stderr).toBe(0)
  })

  it('warns about double runs when cron and systemd timers are both installed, either way round', async () => {
    const { home, envFile, env } = await newHome(['COINCAP_API_KEY=k-123456'])
    const config = join(home, 'config')
    const { env: withCrontab } = fakeCrontab(home, { ...env, XDG_CONFIG_HOME: config })
    const install = ['schedule', '--every', '1h', '--env-file', envFile, '--install']
    const cronFirst = await runCli(install, { env: withCrontab })
    expect(cronFirst.code, cronFirst.stderr).toBe(0)
    expect(cronFirst.stderr).not.toContain('both would run')
    const systemd = await runCli([...install, '--format', 'systemd'], { env: withCrontab })
    expect(systemd.code, systemd.stderr).toBe(0)
    expect(systemd.stderr).toContain(
      'warn: Your crontab has a crypto-etl block too: both would run. Keep one: remove the block with crontab -e\n',
    )
    const cronAgain = await runCli(install, { env: withCrontab })
    expect(cronAgain.code, cronAgain.stderr).toBe(0)
    expect(cronAgain.stderr).toContain(
      'warn: systemd timers of crypto-etl are installed too (crypto-etl.timer): both would run. Keep one: systemctl --user disable --now crypto-etl.timer\n',
    )
  })
})
