/**
 * Typed errors, each carrying the exit code of the command-line contract (`docs/cli.md`, "Exit codes").
 * The base command maps them to one or two lines on stderr and the process exit code; nothing else
 * decides exit codes.
 */

/** Exit codes of the command-line contract. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  unhealthy: 1,
  usage: 2,
  partial: 3,
  dataInvalid: 65,
  apiUnavailable: 69,
  database: 74,
  auth: 77,
  config: 78,
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const

/** The base of every error crypto-etl expects: a message for the user, an exit code and a hint of what to do. */
export class EtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/**
 * An error as data: what a result carries when its work ended short of `ok` (a partial run, a refused key,
 * a signal), and what `--json` prints as `error`. A command that returns such a result prints it, then this
 * error's line, and exits with its code.
 */
export interface Ending {
  name: string
  message: string
  hint?: string
  exitCode: number
}

/** `error` as an {@link Ending}. */
export function endingOf(error: EtlError): Ending {
  return { name: error.name, message: error.message, hint: error.hint, exitCode: error.exitCode }
}

/** The base of an error class that always exits with `exitCode`: each class below only names its code. */
function withExitCode(exitCode: number) {
  return class extends EtlError {
    constructor(message: string, hint?: string, options?: ErrorOptions) {
      super(message, exitCode, hint, options)
    }
  }
}

/** Exit 2: a flag or argument the command cannot use. */
export class UsageError extends withExitCode(ExitCode.usage) {}

/** Exit 3: some datasets loaded, others failed. */
export class PartialError extends withExitCode(ExitCode.partial) {}

/** Exit 65: an upstream answer or an input file does not have the expected shape. */
export class DataValidationError extends withExitCode(ExitCode.dataInvalid) {}

/** Exit 69: CoinCap could not be reached or kept failing after retries. */
export class ApiUnavailableError extends withExitCode(ExitCode.apiUnavailable) {}

/** Exit 74: the database is unreachable or a write failed (the open transaction was rolled back). */
export class DatabaseError extends withExitCode(ExitCode.database) {}

/** Exit 77: the API key is missing, rejected, or out of credits. */
export class ApiAuthError extends withExitCode(ExitCode.auth) {}

/** Exit 78: a setting is invalid (bad URL, bad env file, bad schema name, edited migration). */
export class ConfigError extends withExitCode(ExitCode.config) {}

/** The signals that stop a command: Ctrl-C, a service manager, and a closing terminal or ssh session. */
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP'

const SIGNAL_EXIT_CODES: Record<StopSignal, number> = {
  SIGHUP: ExitCode.sighup,
  SIGINT: ExitCode.sigint,
  SIGTERM: ExitCode.sigterm,
}

/** Exit 129, 130 or 143 (128 + the signal's number): the process was asked to stop; finished work is kept, unfinished rolled back. */
export class InterruptedError extends EtlError {
  constructor(readonly signal: StopSignal) {
    super(`Interrupted by ${signal}.`, SIGNAL_EXIT_CODES[signal])
  }
}
