/**
 * The base of every command: the global flags of `docs/cli.md`, settings resolved once, the logger, the
 * warehouse opened on demand and closed on exit and on signals, and the one place where errors become
 * exit codes and one-line messages.
 */
import { keepWorkingWhenReadersLeave } from './closed-output.js'
import { homedir } from 'node:os'
import { Command, Errors, type Interfaces } from '@oclif/core'
import type { CoincapClient } from '../coincap/index.js'
import { resolveSettings, type Settings } from '../config/settings.js'
import { secretFlags } from '../config/settings-table.js'
import {
  ApiAuthError,
  ConfigError,
  EtlError,
  ExitCode,
  InterruptedError,
  type Ending,
  endingOf,
  type StopSignal,
  UsageError,
} from '../core/errors.js'
import { createLogger, type Logger } from '../core/log.js'
import { maskArgs, maskJson, maskSecrets, maskWrites } from '../core/secrets.js'
import { assertPrivileges, inspectAccess } from '../warehouse/connection/access.js'
import {
  connectWarehouse,
  DEFAULT_ANSWER_TIMEOUT_SECONDS,
  describeTarget as describeLocation,
  type Warehouse,
} from '../warehouse/connection/connect.js'
import { toEtlError } from '../warehouse/connection/database-errors.js'
import { isSessionLost } from '../warehouse/connection/connection-errors.js'
import { embeddedExists } from '../warehouse/embedded/embedded.js'
import {
  checkReadable,
  type MigrateResult,
  migrate,
  migrationLabel,
  noWarehouseError,
  type ReadableWarehouse,
} from '../warehouse/migrate.js'
import { interruptUnfinishedRuns, setRunContext } from '../warehouse/ledgers/runs.js'
import { describeTarget } from '../warehouse/connection/target.js'
import { unknownFlagMessage } from '../ui/did-you-mean.js'
import { globalFlags } from './global-flags.js'

/** SQLSTATEs of a missing table (42P01), column (42703) or function (42883). */
const UNDEFINED_OBJECT_CODES = new Set(['42P01', '42703', '42883'])

export type FlagsOf<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type ArgsOf<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** How long a command may take to wind down after a stop signal before the process is ended anyway. */
const SIGNAL_GRACE_MS = 3000
/** How long the forced exit waits to record the command's runs as interrupted (the next run abandons what it misses). */
const RECORD_ON_EXIT_MS = 2000
/** SIGHUP too: a closing ssh session must stop a run as cleanly as SIGTERM does. */
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true
  /** Whether a named settings file may be missing (schedule, which says how to make it), instead of exit 78. */
  static settingsFileOptional = false
  /**
   * Seconds one statement may wait for the database's answer before exit 74, unless CRYPTO_ETL_DB_TIMEOUT
   * says otherwise. Bulk commands raise it: their statements move whole files and partitions.
   */
  static databaseAnswerSeconds = DEFAULT_ANSWER_TIMEOUT_SECONDS

  static override baseFlags = globalFlags

  protected flags!: FlagsOf<T>
  protected args!: ArgsOf<T>
  protected settings!: Settings
  protected logger!: Logger
  /** Aborted on SIGINT/SIGTERM/SIGHUP with an {@link InterruptedError} as its reason. */
  protected readonly abortController = new AbortController()

  private warehouse?: Warehouse
  /** Migrations a reading command found missing from the warehouse (see openWarehouse's `read`). */
  private behind: ReadableWarehouse['behind'] = []
  /** Whether the closing summary named the warehouse already. */
  private summarized = false
  /** The error a command that returned its result ends with (see {@link endWith}). */
  private ending?: { error: Ending; result: object }
  private readonly cleanups: (() => Promise<void>)[] = []
  private readonly onSignal = (signal: StopSignal) => this.handleSignal(signal)

  public override async init(): Promise<void> {
    await super.init()
    const { args, flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (this.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as FlagsOf<T>
    this.args = args as ArgsOf<T>
    // Until the settings are read, errors are reported in plain text at normal verbosity.
    this.logger = createLogger({ format: 'text', level: flags.verbose ? 'verbose' : 'normal' })
    this.settings = resolveSettings(flags, process.env, {
      settingsFileOptional: (this.ctor as typeof BaseCommand).settingsFileOptional,
    })
    const { secrets } = this.settings
    setRunContext(maskArgs(this.argv, secrets, { value: secretFlags('value'), url: secretFlags('url') }), secrets)
    if (process.env.NODE_DEBUG) maskWrites(process.stderr, this.settings.secrets)
    this.logger = createLogger({
      format: this.settings.logFormat,
      level: this.settings.verbose ? 'verbose' : this.settings.quiet ? 'quiet' : 'normal',
      secrets: this.settings.secrets,
    })
    for (const signal of STOP_SIGNALS) process.once(signal, this.onSignal)
    process.on('unhandledRejection', this.onUnhandled)
    keepWorkingWhenReadersLeave()
  }

  /**
   * Opens the warehouse once per command (closed in `finally`). By default for writing: it is migrated
   * (made on first use) and the role must hold the writing privileges. With `read`, nothing is ever
   * created or changed: a target without a warehouse, or one migrated by a newer crypto-etl, is exit 78.
   * With `migrate: false`, it is only connected.
   */
  protected async openWarehouse(
    options: { read?: boolean; migrate?: boolean; lockWaitMs?: number } = {},
  ): Promise<Warehouse> {
    if (!this.warehouse) {
      const { database, schema } = this.settings
      // Opening an embedded database that is not there would create one.
      if (options.read && database.kind === 'embedded' && !embeddedExists(database.dataDir)) {
        throw noWarehouseError(schema, describeLocation(this.settings))
      }
      const dbTimeoutMs = this.settings.dbTimeoutMs
      this.warehouse = await connectWarehouse(this.settings, {
        lockWaitMs: options.lockWaitMs,
        lockTimeoutMs: this.settings.lockTimeoutMs,
        // A signal cancels a statement waiting on a lock, so that the command stops at once.
        signal: this.abortController.signal,
        answerTimeoutSeconds:
          dbTimeoutMs === undefined ? (this.ctor as typeof BaseCommand).databaseAnswerSeconds : dbTimeoutMs / 1000,
      })
      this.logger.debug('connected', {
        database: this.warehouse.kind,
        location: this.warehouse.location,
        createdFrom: this.warehouse.createdFrom,
      })
      if (options.read) await this.checkReadable(this.warehouse)
      else if (options.migrate !== false) {
        await this.migrateWarehouse(this.warehouse)
        assertPrivileges(await inspectAccess(this.warehouse.sql, schema), 'write', schema)
      }
    }
    return this.warehouse
  }

  /** The warehouse this command reads or writes (full paths): `--json` and JSON log lines carry it as `target`. */
  protected get target(): string {
    return describeTarget(this.settings)
  }

  /**
   * Says on stderr which warehouse the command read or wrote, as its last line, once it succeeded: an error
   * stays the first line of a failure (`--json` carries the name in its result instead).
   */
  private announceTarget(): void {
    if (this.jsonEnabled()) return
    if (this.settings.logFormat === 'text') {
      this.logger.info(`Warehouse: ${describeTarget(this.settings, { home: homedir() })}`)
    } else if (!this.summarized) {
      // Otherwise the JSON summary carried the target, and stays the last line for `tail -1 | jq`.
      this.logger.info('warehouse', { target: this.target })
    }
  }

  /** Adds `target` to the `--json` result of a command that opened the warehouse. */
  public override toSuccessJson(result: unknown): unknown {
    if (!this.warehouse || typeof result !== 'object' || result === null || Array.isArray(result)) return result
    return { ...result, target: this.target }
  }

  private async checkReadable(warehouse: Warehouse): Promise<void> {
    this.behind = (await checkReadable(warehouse)).behind
    if (this.behind.length === 0) return
    this.logger.warn(
      `schema ${warehouse.schema} lacks migration ${this.behind.map(migrationLabel).join(', ')} of this crypto-etl: reading what it can; to upgrade it: crypto-etl migrate`,
    )
  }

  protected async migrateWarehouse(warehouse: Warehouse): Promise<MigrateResult> {
    const result = await migrate(warehouse)
    for (const m of result.applied) this.logger.debug('migration applied', { version: m.version, name: m.name })
    return result
  }

  /**
   * The CoinCap client of this command, sharing its logger and abort signal. With `demo`, it talks to a
   * local server replaying the bundled answers instead (no key, no network).
   */
  protected async coincapClient(options: { demo?: boolean } = {}): Promise<CoincapClient> {
    // Imported here, not at the top: got and its peers are a tenth of a second of start-up that load,
    // query, status and prune never need.
    const { CoincapClient } = await import('../coincap/client.js')
    let apiUrl = this.settings.apiUrl
    let apiKey = this.settings.apiKey
    // One error before any dataset starts, rather than one per dataset as each first request finds no key.
    if (!options.demo && !apiKey) {
      throw new ApiAuthError(
        'No CoinCap API key: CoinCap v3 wants a key for every call.',
        'Set COINCAP_API_KEY (in the settings file for cron) or pass --api-key; keys come from https://pro.coincap.io/dashboard.',
      )
    }
    if (options.demo) {
      const { startFixtureServer } = await import('../demo/server.js')
      const server = await startFixtureServer()
      this.onCleanup(() => server.close())
      apiUrl = server.url
      apiKey = 'demo-key-not-a-secret'
    }
    return new CoincapClient({
      apiUrl,
      apiKey,
      retries: this.settings.apiRetries,
      timeoutMs: this.settings.apiTimeoutMs,
      billed: !options.demo,
      log: this.logger,
      signal: this.abortController.signal,
    })
  }

  /**
   * The closing lines of a command that changed something: `text` on stdout for people, or, under
   * `--log-format json`, one JSON line on stderr with `fields` (snake_case: run_id, status, rows, credits,
   * exit_code, ...) so a cron log reads as JSON end to end. Nothing under `--json`, which prints the result.
   */
  protected summary(text: string, event: string, fields: Record<string, unknown>): void {
    if (this.jsonEnabled()) return
    const target = this.warehouse ? { target: this.target } : {}
    this.summarized = this.warehouse !== undefined
    if (this.settings.logFormat === 'json') this.logger.info(event, { exit_code: ExitCode.ok, ...target, ...fields })
    else this.log(text)
  }

  /**
   * Returns `result`, and when it carries an error (a partial run, a refused key, a signal) makes it the
   * command's ending: once `result` is shown (with `--json`, the error inside it), the error's line and exit
   * code. The work was done and recorded, so it is returned rather than thrown.
   */
  protected endWith<R extends { error?: Ending }>(result: R): R {
    if (result.error) this.ending = { error: result.error, result }
    return result
  }

  /** Prints `json` on stdout (`--json`), secrets masked in every string of it. */
  public override logJson(json: unknown): void {
    super.logJson(maskJson(json, this.settings?.secrets ?? []))
  }

  /** Registers work to do on the way out (after the command, before the warehouse closes). */
  protected onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn)
  }

  private handleSignal(signal: StopSignal): void {
    const error = new InterruptedError(signal)
    if (!this.abortController.signal.aborted) this.abortController.abort(error)
    this.logger.warn(`${signal} received: stopping`)
    // If the command does not wind down in time, record its runs as interrupted, close the database (rolling
    // back what is open) and leave.
    setTimeout(() => {
      const reason = `${error.message} Forced to exit ${SIGNAL_GRACE_MS / 1000} s later.`
      void interruptUnfinishedRuns(reason, RECORD_ON_EXIT_MS)
        .then(() => this.closeResources())
        .finally(() => process.exit(error.exitCode))
    }, SIGNAL_GRACE_MS).unref()
  }

  private async closeResources(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) await fn().catch(() => {})
    await this.warehouse?.close()
  }

  public override async finally(error: Error | undefined): Promise<void> {
    if (!error && this.ending) process.exitCode = this.printFailure(this.ending.error, { result: this.ending.result })
    else if (!error && this.warehouse) this.announceTarget()
    await this.closeResources()
    // Only now: a signal while the database closes would otherwise end the process by its default action.
    for (const signal of STOP_SIGNALS) process.off(signal, this.onSignal)
    process.off('unhandledRejection', this.onUnhandled)
    return super.finally(error)
  }

  /** Exit 78 for a read that failed on a table, column or function that a pending migration adds. */
  private behindError(error: unknown): ConfigError | undefined {
    const code = (error as { code?: string } | undefined)?.code
    if (this.behind.length === 0 || !code || !UNDEFINED_OBJECT_CODES.has(code)) return undefined
    return new ConfigError(
      `This report failed on schema ${this.settings.schema}, which lacks migration ${this.behind.map(migrationLabel).join(', ')}: ${(error as Error).message}.`,
      'Upgrade the warehouse: crypto-etl migrate (as the role that owns it).',
    )
  }

  public override async catch(error: Error & { exitCode?: number }): Promise<never> {
    // Errors.exit throws an ExitError that oclif turns into the process exit code without printing.
    Errors.exit(this.report(error))
  }

  /**
   * A rejection nothing awaits. postgres.js runs a query of its own on each new connection (it asks for the
   * array types) and nobody awaits it: when it fails (a role's statement_timeout of a few ms, 57014) Node
   * would end the process with a stack trace. It is an error like any other: one line, its exit code.
   */
  private readonly onUnhandled = (error: unknown) => {
    // A session the server ended (a restart, a terminated backend) fails that internal query too: the work's
    // own statements see the same loss and retry on a new connection, so this one is no reason to stop.
    if (isSessionLost(error))
      return this.logger.debug('a connection was lost', { code: (error as Error & { code?: string }).code })
    const code = this.report(error instanceof Error ? error : new Error(String(error)))
    void this.closeResources().finally(() => process.exit(code))
  }

  /** Prints `error` as one or two lines (or JSON) and returns its exit code. */
  private report(error: Error & { exitCode?: number }): number {
    const context = { warehouse: this.warehouse, signal: this.abortController.signal }
    const etl = oclifError(error) ?? this.behindError(error) ?? toEtlError(error, context)
    return this.printFailure(endingOf(etl), { stack: error.stack })
  }

  /**
   * Prints how the command ended badly: `Error: <message>` and the hint on stderr, or one JSON log line with
   * the result's id, status and counts, or with `--json` the error as JSON (unless `result` is printed, the
   * error inside it). Secrets are masked here, where it is shown. Returns the exit code.
   */
  private printFailure(ending: Ending, extra: { stack?: string; result?: object }): number {
    const secrets = this.settings?.secrets ?? []
    const mask = (text: string | undefined) => text && maskSecrets(text, secrets)
    const etl = { ...ending, message: mask(ending.message)!, hint: mask(ending.hint) }
    const verbose = this.settings?.verbose ?? Boolean(process.env.DEBUG)
    const stack = verbose ? mask(extra.stack) : undefined
    if (this.jsonEnabled()) {
      if (!extra.result) this.logJson({ error: etl })
    } else if (jsonLogs(this.settings)) {
      const line = { time: new Date().toISOString(), level: 'error', msg: etl.message, hint: etl.hint, stack }
      const outcome = resultFields(extra.result)
      process.stderr.write(`${JSON.stringify({ ...line, ...outcome, exit_code: etl.exitCode })}\n`)
    } else {
      const lines = [`Error: ${etl.message}`]
      if (etl.hint) lines.push(etl.hint)
      if (stack) lines.push(stack)
      if (!verbose && etl.exitCode === ExitCode.internal) lines.push('Run again with --verbose for details.')
      process.stderr.write(`${lines.join('\n')}\n`)
    }
    return etl.exitCode
  }
}

/**
 * The fields of a JSON error line that say what a run did before it ended badly (a partial run, an unknown
 * id, a refused key in one dataset): its id, status, rows and credits, as the summary line has them.
 */
function resultFields(result: object | undefined): Record<string, unknown> {
  if (!result) return {}
  const r = result as {
    runId?: unknown
    status?: unknown
    rows?: unknown
    datasets?: { dataset: string; rows: number }[]
    api?: { credits?: unknown }
  }
  const rows = Array.isArray(r.datasets) ? Object.fromEntries(r.datasets.map((d) => [d.dataset, d.rows])) : r.rows
  return { run_id: r.runId, status: r.status, rows, credits: r.api?.credits }
}

/**
 * Whether log lines are JSON. Before the settings are resolved (a bad flag or setting fails first), the
 * command line and the environment are asked directly, so even that error comes out as JSON.
 */
/** Whether log lines are JSON: from the settings, or before they are read from the flag or the variable. */
export function jsonLogs(settings: Settings | undefined): boolean {
  if (settings) return settings.logFormat === 'json'
  const argv = process.argv
  const flag = argv.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='))
  if (flag >= 0) return (argv[flag]!.split('=')[1] ?? argv[flag + 1]) === 'json'
  return process.env.CRYPTO_ETL_LOG_FORMAT === 'json'
}

/** oclif's own errors (an unknown flag, a flag that fails to parse, a missing argument) as usage errors (2). */
function oclifError(error: unknown): EtlError | undefined {
  const unknownFlag = unknownFlagMessage(error)
  if (unknownFlag) return new UsageError(unknownFlag)
  // oclif rethrows a custom flag's parse error as "Parsing --<flag> \n\t<message>\n..." without an exit code.
  const parsing = /^Parsing --([\w-]+) \n\t([^\n]*)/.exec((error as Error | undefined)?.message ?? '')
  if (parsing) return new UsageError(`--${parsing[1]}: ${parsing[2]}`, 'See --help for usage.')
  const err = error as Error & { oclif?: { exit?: number } }
  if (err?.oclif?.exit === undefined) return undefined
  // oclif's validation errors start with a header line: "The following error occurred:\n  Missing required flag x".
  const line = err.message
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l && !/^The following errors? occurred:$/.test(l) && !l.startsWith('See more help'))
  return new EtlError(
    line ?? 'Invalid arguments.',
    err.oclif.exit === 1 ? ExitCode.usage : err.oclif.exit,
    'See --help for usage.',
  )
}
