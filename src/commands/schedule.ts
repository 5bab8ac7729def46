import { existsSync, realpathSync } from 'node:fs'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { Flags, Parser } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { secretVariables } from '../config/settings-table.js'
import { UsageError } from '../core/errors.js'
import { durationFlag, MAX_COUNT } from '../cli/flags.js'
import { measuredRunCredits } from '../pipeline/costs.js'
import * as plan from '../schedule/schedule.js'
import {
  costWarning,
  doubleRunWarning,
  formatAdvice,
  formatCost,
  formatInit,
  formatInstalled,
  formatScheduleText,
  formatStorage,
} from '../ui/schedule.js'
import { unknownFlagMessage } from '../ui/did-you-mean.js'
import { VERSION } from '../core/version.js'

export default class Schedule extends BaseCommand<typeof Schedule> {
  static override summary = 'Print (or install) a crontab line or systemd units that run crypto-etl on a cadence.'
  static override description =
    'Absolute paths to node and the CLI, settings and secrets read from the settings file (never written into the schedule), output to a log file or syslog, a stable staggered minute so not every user calls CoinCap at :00, and the estimated monthly CoinCap credits. Flags after -- go to run.'
  static override usage =
    'schedule --every <duration> | --dataset-every <dataset=duration,...> [--format cron|systemd] [--install] [-- <run flags>]'
  static override examples = [
    '<%= config.bin %> schedule --every 5m',
    '<%= config.bin %> schedule --every 15m --init',
    'CRYPTO_ETL_ENV_FILE=~/etl.env <%= config.bin %> schedule --every 15m -- --limit 200',
    '<%= config.bin %> schedule --dataset-every assets=5m,exchanges=1h,rates=15m --format systemd',
    '<%= config.bin %> schedule --every 1h --budget 75000 --install',
  ]
  static override flags = {
    every: durationFlag({
      summary: 'Run every 5m, 15m, 1h, 6h, 1d...: the --datasets given after -- (default assets,exchanges,rates).',
    }),
    'dataset-every': Flags.custom({ parse: async (input: string) => plan.parseDatasetEvery(input) })({
      summary: 'A cadence per dataset, e.g. assets=5m,exchanges=1h: one cron line or timer per cadence.',
    }),
    format: Flags.string({
      summary: 'cron (a crontab block) or systemd (service and timer units).',
      options: plan.SCHEDULE_FORMATS,
      default: 'cron',
    }),
    'log-file': Flags.string({
      summary:
        'Append output here, or "syslog" (default: cron ~/.local/state/crypto-etl/cron.log, systemd the journal).',
    }),
    install: Flags.boolean({ summary: 'Write it into your crontab or ~/.config/systemd/user, after printing it.' }),
    budget: Flags.integer({
      summary:
        'Warn above this many CoinCap credits a month (default: the free tier, 4,000); --install refuses above it.',
      min: 1,
      max: MAX_COUNT,
    }),
    force: Flags.boolean({ summary: 'Install even above --budget.', dependsOn: ['install'] }),
    init: Flags.boolean({
      summary: 'Write a settings file template (mode 0600) where the schedule reads it, unless one is there.',
    }),
  }

  /** The settings file may not exist yet: `schedule` says how to make it (and `--init` makes it). */
  static override settingsFileOptional = true

  private runArgs: string[] = []

  public override async init(): Promise<void> {
    // Everything after `--` belongs to `run`; schedule's own flags are parsed strictly.
    const dashdash = this.argv.indexOf('--')
    if (dashdash !== -1) [this.argv, this.runArgs] = [this.argv.slice(0, dashdash), this.argv.slice(dashdash + 1)]
    await super.init()
  }

  async run(): Promise<plan.Schedule & { installed?: { replaced?: boolean; stale?: string[] } }> {
    const { flags } = this
    const format = flags.format as plan.ScheduleFormat
    const { settingsFile, sources } = this.settings
    const paths = plan.schedulePaths(this.settings.dirs)
    const cli = realpathSync(join(this.config.root, 'bin', 'run.js'))
    const { datasets, rest } = plan.splitRunArgs(this.runArgs)
    const runFlags = await this.parseRunArgs([...rest, ...(datasets ? ['--datasets', datasets] : [])])
    const forwarded = plan.forwardedSettings(flags)
    const schedule = plan.buildSchedule({
      format,
      every: flags.every,
      datasetEvery: flags['dataset-every'],
      datasets: runFlags.datasets,
      selection: { limit: runFlags.limit, assets: runFlags.assets, marketsLimit: runFlags['markets-limit'] },
      runArgs: rest,
      forwarded: forwarded.args,
      node: process.execPath,
      cli,
      envFile: resolve(settingsFile.path),
      log: plan.chooseLog(format, flags['log-file'], paths.cronLog),
      loggerPath: ['/usr/bin/logger', '/bin/logger'].find((p) => existsSync(p)),
      hostname: hostname(),
      version: VERSION,
      measured: await measuredRunCredits(
        this.settings,
        () => this.openWarehouse({ migrate: false, lockWaitMs: 0 }),
        this.logger,
      ),
      budget: flags.budget,
    })
    const wrote = flags.init ? await plan.writeSettingsTemplate(schedule.envFile) : undefined
    // Of the flags, the secrets are never written into a schedule: as unseen as the shell's variables. The
    // others are forwarded (--data-dir, --schema, --api-url) or shape this command's own output (--log-format).
    const secrets = [...secretVariables('value'), ...secretVariables('url')]
    const shell = [...sources.environment, ...sources.flag.filter((variable) => secrets.includes(variable))]
    const checks = await plan.checkScheduleEnvironment(schedule, cli, shell, forwarded.variables)
    this.log(formatScheduleText(schedule, paths.unitDir))
    for (const line of [...formatCost(schedule), ...formatStorage(schedule)]) this.logger.info(line)
    const { warnings, notes } = formatAdvice(schedule, {
      ...checks,
      logDirMissing: flags.install ? undefined : checks.logDirMissing,
    })
    for (const w of [costWarning(schedule), ...warnings]) if (w) this.logger.warn(w)
    for (const n of notes) this.logger.info(n)
    if (wrote !== undefined) this.logger.info(formatInit(schedule.envFile, wrote))
    if (!flags.install) return schedule
    const refusal = plan.installRefusal(schedule, checks, {
      demo: plan.hasFlag(rest, '--demo'),
      force: flags.force,
      envFileNamed: settingsFile.namedBy !== undefined,
    })
    if (refusal) throw refusal
    const other = await plan.otherScheduleInstalled(format, paths.unitDir)
    if (other.length) this.logger.warn(doubleRunWarning(format, other))
    const installed = await plan.installSchedule(schedule, paths.unitDir)
    for (const line of formatInstalled(schedule, installed)) this.logger.info(line)
    return { ...schedule, installed }
  }

  /** Checks the flags after `--` with run's own parser, so a typo fails now rather than in every cron run. */
  private async parseRunArgs(args: string[]) {
    const run = await this.config.findCommand('run')?.load()
    if (!run) throw new UsageError('This crypto-etl has no run command to schedule.')
    const json = run.enableJsonFlag ? { json: Flags.boolean() } : {}
    try {
      const { flags } = await Parser.parse(args, {
        flags: { ...run.baseFlags, ...run.flags, ...json },
        args: {},
        strict: true,
      })
      return flags as plan.RunFlagValues
    } catch (error) {
      const unknown = unknownFlagMessage(error)
      if (unknown) throw new UsageError(`After --: ${unknown}`, 'See crypto-etl run --help.')
      const lines = (error as Error).message.split('\n').map((l) => l.trim())
      const detail = lines.filter((l) => l && !l.startsWith('See more help')).join(': ')
      throw new UsageError(`After --: ${detail}`, 'See crypto-etl run --help.')
    }
  }
}
