import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, UsageError } from '../../src/core/errors.js'
import {
  buildSchedule,
  checkCadence,
  installCrontab,
  installUnits,
  mergeCrontab,
  parseDatasetEvery,
  type ScheduleRequest,
  splitRunArgs,
  systemctlCommands,
} from '../../src/schedule/schedule.js'
import { costWarning, formatAdvice, formatCost } from '../../src/ui/schedule.js'

const M = 60_000
const base: ScheduleRequest = {
  format: 'cron',
  runArgs: [],
  node: '/usr/bin/node',
  cli: '/opt/crypto-etl/bin/run.js',
  envFile: '/home/ann/.config/crypto-etl/env',
  log: '/home/ann/.local/state/crypto-etl/cron.log',
  loggerPath: '/usr/bin/logger',
  hostname: 'host-a',
  version: '1.2.3',
}
const CMD = '/usr/bin/node /opt/crypto-etl/bin/run.js run'
/** The cron command: the settings file named by a variable, which Node does not read (it takes --env-file). */
const CRON_CMD = `CRYPTO_ETL_ENV_FILE=/home/ann/.config/crypto-etl/env ${CMD}`
const CRON_TAIL = '--log-format json >> /home/ann/.local/state/crypto-etl/cron.log 2>&1'
const BEGIN =
  '# BEGIN crypto-etl: written by crypto-etl 1.2.3 schedule; `crypto-etl schedule --install` replaces this block'
const SETTINGS =
  '# Settings and secrets: /home/ann/.config/crypto-etl/env. Output: /home/ann/.local/state/crypto-etl/cron.log'

const cronOf = (request: Partial<ScheduleRequest>) => buildSchedule({ ...base, ...request }).crontab!
const calendarOf = (format: 'cron' | 'systemd', everyMinutes: number) =>
  buildSchedule({ ...base, format, every: everyMinutes * M }).groups[0]!.calendar

/** Expands the minute and hour fields of a cron line into minutes of the day, independently of the code under test. */
function cronMinutes(line: string): number[] {
  const [minute, hour] = line.split(' ')
  const expand = (field: string, max: number) =>
    field.split(',').flatMap((part) => {
      const [range = '', step = '1'] = part.split('/')
      const [from = 0, to = max] =
        range === '*' ? [] : range.includes('-') ? range.split('-').map(Number) : [Number(range), Number(range)]
      const values: number[] = []
      for (let v = from; v <= to; v += Number(step)) values.push(v)
      return values
    })
  return expand(hour!, 23)
    .flatMap((h) => expand(minute!, 59).map((m) => h * 60 + m))
    .sort((a, b) => a - b)
}

const divisorsOfDay = Array.from({ length: 1440 }, (_, i) => i + 1).filter((n) => 1440 % n === 0)
const cronCadences = divisorsOfDay.filter((n) => 60 % n === 0 || (n % 60 === 0 && 24 % (n / 60) === 0))

describe('cadences as cron lines and OnCalendar values', () => {
  it.each([
    [5, '4-59/5 * * * *', '*-*-* *:04/5:00'],
    [15, '14-59/15 * * * *', '*-*-* *:14/15:00'],
    [60, '59 * * * *', '*-*-* *:59:00'],
    [360, '59 3-23/6 * * *', '*-*-* 03/6:59:00'],
    [1440, '59 9 * * *', '*-*-* 09:59:00'],
  ])('runs every %i minutes at a staggered minute: %s / %s', (minutes, cron, calendar) => {
    expect(calendarOf('cron', minutes)).toEqual([cron])
    expect(calendarOf('systemd', minutes)).toEqual([calendar])
  })

  it('keeps the minute of one machine and spreads machines over the hour', () => {
    const hourly = (hostname: string) => buildSchedule({ ...base, hostname, every: 60 * M }).groups[0]!.calendar[0]
    expect([hourly('host-a'), hourly('host-a'), hourly('host-b'), hourly('host-c')]).toEqual([
      '59 * * * *',
      '59 * * * *',
      '35 * * * *',
      '48 * * * *',
    ])
  })

  it.each(cronCadences)('fires every %i minutes evenly through the day in cron', (minutes) => {
    const [line] = calendarOf('cron', minutes)
    const times = cronMinutes(line!)
    expect(times.length).toBe(1440 / minutes)
    expect(times.every((t, i) => i === 0 || t - times[i - 1]! === minutes)).toBe(true)
  })

  it('expresses 90 minutes in systemd as two OnCalendar values, which cron cannot', () => {
    expect(calendarOf('systemd', 90)).toEqual(['*-*-* 00/3:59:00', '*-*-* 02/3:29:00'])
    expect(() => calendarOf('cron', 90)).toThrow(
      'cron cannot run assets,exchanges,rates every 1h30m evenly; use 1h or 2h, or --format systemd.',
    )
  })

  it('fires every cadence that divides a day evenly, as systemd-analyze reads the OnCalendar values', () => {
    const values = divisorsOfDay.map((n) => calendarOf('systemd', n))
    const analyze = spawnSync('systemd-analyze', ['--version'])
    if (analyze.error) {
      // Without systemd-analyze, check the shape of each value at least.
      for (const v of values.flat()) expect(v).toMatch(/^\*-\*-\* (\*|\d\d(\/\d+|(,\d\d)*)):\d\d(\/\d+|(,\d\d)*):00$/)
      return
    }
    for (const [i, n] of divisorsOfDay.entries()) {
      const iterations = Math.min(1440 / n + 1, 100)
      const out = spawnSync('systemd-analyze', ['calendar', `--iterations=${iterations}`, ...values[i]!], {
        encoding: 'utf8',
        env: { ...process.env, TZ: 'UTC' },
      })
      expect(out.status, out.stderr).toBe(0)
      // Each value elapses on its own; merged, the elapses of a cadence are n minutes apart.
      const elapses = [...out.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC/g)]
        .map((m) => Date.parse(`${m[1]}Z`) / M)
        .sort((a, b) => a - b)
        .slice(0, iterations)
      expect(elapses.slice(1).map((t, k) => t - elapses[k]!)).toEqual(Array(iterations - 1).fill(n))
    }
  })

  it.each([
    ['cron', 7, 'cron cannot run assets,exchanges,rates every 7m evenly; use 6m or 10m.'],
    ['systemd', 7, 'systemd cannot run assets,exchanges,rates every 7m evenly; use 6m or 8m.'],
    ['cron', 2880, 'cron cannot run assets,exchanges,rates every 2d evenly; use 1d.'],
    ['cron', 1.5, 'cron cannot run assets,exchanges,rates every 1m30s evenly; use 1m or 2m.'],
  ] as const)('refuses in %s every %f minutes, naming close cadences (exit 2)', (format, minutes, message) => {
    const attempt = () => checkCadence(minutes * M, format, 'assets,exchanges,rates')
    expect(attempt).toThrow(UsageError)
    expect(attempt).toThrow(message)
  })
})

describe('the crontab block', () => {
  it('runs the default datasets every 5 minutes with absolute paths, the env file and a log file', () => {
    expect(cronOf({ every: 5 * M })).toBe(
      [
        BEGIN,
        SETTINGS,
        '# assets,exchanges,rates every 5m: ~38 CoinCap credits a run, ~328,320 a month (typical sizes)',
        `4-59/5 * * * * ${CRON_CMD} --datasets assets,exchanges,rates --scheduled ${CRON_TAIL}`,
        '# Total: ~328,320 CoinCap credits a month (the Professional plan covers it)',
        // 100 assets × 231 B + 100 exchanges × 278 B + 162 rates × 256 B = 92,372 B a run, × 288 runs a day.
        '# Storage: ~25.4 MiB a day, ~761.1 MiB a month (measured bytes per row, typical sizes); to keep 30 days, uncomment:',
        `# 17 3 * * * CRYPTO_ETL_ENV_FILE=/home/ann/.config/crypto-etl/env ${base.node} ${base.cli} prune --older-than 30d ${CRON_TAIL}`,
        '# END crypto-etl',
        '',
      ].join('\n'),
    )
  })

  it('has one line per cadence, at minutes no other cadence uses', () => {
    const crontab = cronOf({ datasetEvery: { assets: 5 * M, exchanges: 60 * M, rates: 15 * M } })
    expect(crontab).toBe(
      [
        BEGIN,
        SETTINGS,
        '# assets every 5m: ~19 CoinCap credits a run, ~164,160 a month (typical sizes)',
        `3-59/5 * * * * ${CRON_CMD} --datasets assets --scheduled ${CRON_TAIL}`,
        '# rates every 15m: ~8 CoinCap credits a run, ~23,040 a month (typical sizes)',
        `12-59/15 * * * * ${CRON_CMD} --datasets rates --scheduled ${CRON_TAIL}`,
        '# exchanges every 1h: ~11 CoinCap credits a run, ~7,920 a month (typical sizes)',
        `24 * * * * ${CRON_CMD} --datasets exchanges --scheduled ${CRON_TAIL}`,
        '# Total: ~195,120 CoinCap credits a month (the Growth plan covers it)',
        // assets 23,100 B × 288 + rates 41,472 B × 96 + exchanges 27,800 B × 24 = 11,301,312 B a day.
        '# Storage: ~10.8 MiB a day, ~323.3 MiB a month (measured bytes per row, typical sizes); to keep 30 days, uncomment:',
        `# 17 3 * * * CRYPTO_ETL_ENV_FILE=/home/ann/.config/crypto-etl/env ${base.node} ${base.cli} prune --older-than 30d ${CRON_TAIL}`,
        '# END crypto-etl',
        '',
      ].join('\n'),
    )
    const times = crontab
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .flatMap(cronMinutes)
    expect(new Set(times).size).toBe(times.length)
  })

  it('gives --every to the --datasets after -- and --dataset-every to the datasets it names', () => {
    const schedule = buildSchedule({
      ...base,
      every: 5 * M,
      datasets: ['assets', 'rates'],
      datasetEvery: { exchanges: 60 * M },
    })
    expect(schedule.groups.map((g) => [g.datasets, g.every])).toEqual([
      [['assets', 'rates'], '5m'],
      [['exchanges'], '1h'],
    ])
  })

  it('quotes flags after -- for the shell and escapes % for cron', () => {
    const crontab = cronOf({ every: 15 * M, datasets: ['markets'], runArgs: ['--markets-exchange', "it's 100% $HOME"] })
    expect(crontab.split('\n')[3]).toBe(
      `6-59/15 * * * * ${CRON_CMD} --datasets markets --scheduled --markets-exchange 'it'\\''s 100\\% $HOME' ${CRON_TAIL}`,
    )
  })

  it('pipes output to logger for syslog, in text log lines', () => {
    const line = cronOf({ every: 60 * M, log: 'syslog' }).split('\n')[3]
    expect(line).toBe(
      `59 * * * * ${CRON_CMD} --datasets assets,exchanges,rates --scheduled 2>&1 | /usr/bin/logger -t crypto-etl`,
    )
  })

  it("keeps the user's --log-format and passes schedule's own settings on", () => {
    const line = cronOf({ every: 60 * M, runArgs: ['--log-format', 'text'], forwarded: ['--schema', 'market'] }).split(
      '\n',
    )[3]
    expect(line).toBe(
      `59 * * * * ${CRON_CMD} --datasets assets,exchanges,rates --scheduled --schema market --log-format text >> /home/ann/.local/state/crypto-etl/cron.log 2>&1`,
    )
  })

  it('prices a cadence from recent runs of the same datasets when there are some', () => {
    const schedule = buildSchedule({
      ...base,
      every: 60 * M,
      measured: new Map([['assets,exchanges,rates', { runs: 12, credits: 30 }]]),
    })
    expect(schedule.groups[0]!.cost).toEqual({
      perRun: 30,
      runsPerMonth: 720,
      perMonth: 21_600,
      source: 'measured',
      runs: 12,
    })
    expect(schedule.crontab!.split('\n')[2]).toBe(
      '# assets,exchanges,rates every 1h: ~30 CoinCap credits a run, ~21,600 a month (average of 12 recent runs)',
    )
  })

  it('refuses a schedule without a cadence, and a dataset without one', () => {
    expect(() => cronOf({})).toThrow('Give a cadence: --every 5m, or --dataset-every assets=5m,exchanges=1h.')
    expect(() => cronOf({ datasets: ['assets', 'rates'], datasetEvery: { assets: 5 * M } })).toThrow(
      "No cadence for 'rates': add it to --dataset-every, or give --every.",
    )
  })
})

describe('systemd units', () => {
  const header = '# Written by crypto-etl schedule (crypto-etl 1.2.3); `crypto-etl schedule --install` rewrites it.'

  it('writes a oneshot service with the env file and hardening, and a persistent timer', () => {
    const { units } = buildSchedule({ ...base, format: 'systemd', log: 'syslog', every: 5 * M })
    // Both files to the letter, written out as they read on disk.
    expect(units).toEqual([
      {
        name: 'crypto-etl.service',
        text: `${header}
[Unit]
Description=crypto-etl: load CoinCap assets,exchanges,rates

[Service]
Type=oneshot
ExecStart=${CMD} --datasets assets,exchanges,rates --scheduled
Environment=CRYPTO_ETL_ENV_FILE=/home/ann/.config/crypto-etl/env
TimeoutStartSec=4m30s
SyslogIdentifier=crypto-etl
NoNewPrivileges=yes
UMask=0077
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
SystemCallArchitectures=native
`,
      },
      {
        name: 'crypto-etl.timer',
        text: `${header}
# assets,exchanges,rates every 5m: ~38 CoinCap credits a run, ~328,320 a month (typical sizes)
[Unit]
Description=crypto-etl: assets,exchanges,rates every 5m

[Timer]
OnCalendar=*-*-* *:04/5:00
Persistent=true
RandomizedDelaySec=30s
AccuracySec=1s

[Install]
WantedBy=timers.target
`,
      },
    ])
  })

  it('names one service and timer per cadence after its datasets', () => {
    const { units } = buildSchedule({
      ...base,
      format: 'systemd',
      datasetEvery: { assets: 5 * M, exchanges: 60 * M, rates: 15 * M },
    })
    expect(units!.map((u) => u.name)).toEqual([
      'crypto-etl-assets.service',
      'crypto-etl-assets.timer',
      'crypto-etl-rates.service',
      'crypto-etl-rates.timer',
      'crypto-etl-exchanges.service',
      'crypto-etl-exchanges.timer',
    ])
  })

  it("quotes ExecStart in systemd's own way and appends to a chosen log file", () => {
    const { units } = buildSchedule({
      ...base,
      format: 'systemd',
      every: 15 * M,
      datasets: ['markets'],
      runArgs: ['--markets-exchange', `it's 100% $HOME`, 'a"b\\c'],
    })
    const lines = units![0]!.text.split('\n')
    expect(lines[6]).toBe(
      `ExecStart=${CMD} --datasets markets --scheduled --markets-exchange "it's 100%% $$HOME" "a\\"b\\\\c" --log-format json`,
    )
    expect(lines[9]).toBe('StandardOutput=append:/home/ann/.local/state/crypto-etl/cron.log')
  })

  it('prints the commands that enable the timers and disable the ones no longer written', () => {
    const schedule = buildSchedule({ ...base, format: 'systemd', every: 5 * M })
    expect(systemctlCommands(schedule, ['crypto-etl-assets.service', 'crypto-etl-assets.timer'])).toEqual([
      'systemctl --user disable --now crypto-etl-assets.timer',
      'systemctl --user daemon-reload',
      'systemctl --user enable --now crypto-etl.timer',
    ])
  })
})

describe('flags given after --', () => {
  it('takes --datasets out, in both spellings, and keeps the rest in order', () => {
    expect(splitRunArgs(['--limit', '50', '--datasets', 'assets,rates', '--quiet'])).toEqual({
      datasets: 'assets,rates',
      rest: ['--limit', '50', '--quiet'],
    })
    expect(splitRunArgs(['--datasets=markets'])).toEqual({ datasets: 'markets', rest: [] })
  })

  it('refuses newlines', () => {
    expect(() => splitRunArgs(['--markets-exchange', 'binance\n* * * * * rm -rf ~'])).toThrow(
      'The flags after -- must not contain newlines or control characters.',
    )
  })

  it.each(['--api-key', '--database-url=postgres://u:p@h/db', '--env-file'])('refuses %s: secrets stay out', (flag) => {
    expect(() => splitRunArgs([flag, 'x'])).toThrow(`${flag.split('=')[0]} does not belong after --`)
  })

  it('reads --dataset-every pairs', () => {
    expect(parseDatasetEvery('assets=5m, exchanges=1h,rates=15m')).toEqual({
      assets: 5 * M,
      exchanges: 60 * M,
      rates: 15 * M,
    })
  })

  it.each([
    ['coins=5m', "Unknown dataset 'coins' in 'coins=5m'; expected one of assets, exchanges, markets, rates."],
    ['assets=often', "'often' in 'assets=often' is not a duration; use e.g. assets=5m,exchanges=1h."],
    [',', 'Expected dataset=cadence pairs, e.g. assets=5m,exchanges=1h.'],
  ])('refuses --dataset-every %j', (text, message) => {
    expect(() => parseDatasetEvery(text)).toThrow(message)
  })
})

describe('the user crontab', () => {
  const block = '# BEGIN crypto-etl: new\n* * * * * new\n# END crypto-etl\n'

  it('starts an empty crontab with the block', () => {
    expect(mergeCrontab('', block)).toBe(block)
  })

  it("adds the block after the user's own lines, keeping them", () => {
    expect(mergeCrontab('MAILTO=ann\n0 3 * * * backup\n', block)).toBe(`MAILTO=ann\n0 3 * * * backup\n${block}`)
  })

  it('replaces the previous block in place', () => {
    const existing = 'MAILTO=ann\n# BEGIN crypto-etl: old\n*/5 * * * * old\n# END crypto-etl\n0 3 * * * backup\n'
    expect(mergeCrontab(existing, block)).toBe(`MAILTO=ann\n${block}0 3 * * * backup\n`)
  })

  it('refuses to guess where a block without its end marker ends (exit 78)', () => {
    const attempt = () => mergeCrontab('# BEGIN crypto-etl: old\n* * * * * old\n0 3 * * * backup\n', block)
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow("Your crontab has '# BEGIN crypto-etl' without '# END crypto-etl'")
  })

  it('reads the crontab, writes it back merged, and says whether it replaced a block', async () => {
    let stored = 'MAILTO=ann\n# BEGIN crypto-etl: old\n# END crypto-etl\n'
    const io = {
      read: async () => stored,
      write: async (text: string) => {
        stored = text
      },
    }
    expect(await installCrontab(block, io)).toEqual({ replaced: true })
    expect(stored).toBe(`MAILTO=ann\n${block}`)
  })
})

describe('unit files', () => {
  it('writes the units and lists earlier crypto-etl units it no longer writes, leaving foreign files alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crypto-etl-units-'))
    writeFileSync(join(dir, 'crypto-etl-assets.timer'), '# Written by crypto-etl schedule (crypto-etl 1.0.0)\n')
    writeFileSync(join(dir, 'crypto-etl-mine.timer'), '[Timer]\n')
    try {
      const { units } = buildSchedule({ ...base, format: 'systemd', every: 5 * M })
      expect(await installUnits(units!, dir)).toEqual({ stale: ['crypto-etl-assets.timer'] })
      expect(readFileSync(join(dir, 'crypto-etl.timer'), 'utf8')).toBe(units![1]!.text)
      expect(readFileSync(join(dir, 'crypto-etl.service'), 'utf8')).toBe(units![0]!.text)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('what schedule tells the user', () => {
  const mix = buildSchedule({ ...base, datasetEvery: { assets: 5 * M, exchanges: 60 * M, rates: 15 * M } })

  it('shows the cost of each cadence, the total and the plan that covers it', () => {
    expect(formatCost(mix)).toEqual([
      'Estimated CoinCap credits (30-day month):',
      '  assets     every 5m   19 a run × 8,640 runs = 164,160  (typical sizes)',
      '  rates      every 15m   8 a run × 2,880 runs =  23,040  (typical sizes)',
      '  exchanges  every 1h   11 a run ×   720 runs =   7,920  (typical sizes)',
      '  total 195,120 a month: the Growth plan (225,000) covers it.',
    ])
  })

  it('warns above the free tier when no budget is given', () => {
    expect(costWarning(mix)).toBe(
      "195,120 credits a month exceeds CoinCap's free tier (4,000): it needs the Growth plan. Choose a longer cadence, fewer datasets, or fewer assets (--limit after --).",
    )
  })

  it('warns above --budget, and not below it', () => {
    const over = buildSchedule({ ...base, every: 5 * M, budget: 75_000 })
    expect(costWarning(over)).toBe(
      '328,320 credits a month exceeds your budget of 75,000. Choose a longer cadence, fewer datasets, or fewer assets (--limit after --).',
    )
    expect(costWarning(buildSchedule({ ...base, every: 1440 * M, budget: 75_000 }))).toBeUndefined()
  })

  it('stays quiet about cost within the free tier', () => {
    // 38 credits a day for 30 days: 1,140.
    expect(costWarning(buildSchedule({ ...base, every: 1440 * M }))).toBeUndefined()
  })

  it("warns when the CLI runs from npx's cache, and names settings cron would not see", () => {
    const checks = {
      cli: '/home/ann/.npm/_npx/1a2b/node_modules/crypto-etl/bin/run.js',
      npx: true,
      envFileExists: true,
      envFileOpen: true,
      envFileHasKey: true,
      unseen: ['COINCAP_API_KEY', 'CRYPTO_ETL_SCHEMA'],
    }
    expect(formatAdvice(mix, checks)).toEqual({
      warnings: [
        "crypto-etl runs from npx's cache (/home/ann/.npm/_npx/1a2b/node_modules/crypto-etl/bin/run.js), which npm may clear: install it first (npm i -g crypto-etl) and schedule from there.",
        '/home/ann/.config/crypto-etl/env can be read by other users: chmod 600 /home/ann/.config/crypto-etl/env',
        'cron will not see COINCAP_API_KEY, CRYPTO_ETL_SCHEMA (set in this shell or given as flags): put them in /home/ann/.config/crypto-etl/env.',
      ],
      notes: [],
    })
  })
})
