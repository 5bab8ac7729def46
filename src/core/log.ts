/**
 * The logger every layer receives: text lines or one JSON object a line, always on stderr, so stdout
 * stays free for results. Secrets are masked before anything is written.
 */
import { maskSecrets } from './secrets.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** What pipeline, source and sink code log through. `fields` are small, flat, secret-free values. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export interface LoggerOptions {
  format: 'text' | 'json'
  /** `verbose` shows debug lines, `quiet` only errors. */
  level: 'verbose' | 'normal' | 'quiet'
  /** Secrets to mask in every line (API key, database password). */
  secrets?: readonly string[]
  write?: (line: string) => void
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

/** Creates a logger writing to stderr (or `write`). */
export function createLogger(options: LoggerOptions): Logger {
  const min = options.level === 'verbose' ? 0 : options.level === 'quiet' ? 3 : 1
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`))
  const secrets = options.secrets ?? []
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (rank[level] < min) return
    let line: string
    if (options.format === 'json') {
      line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })
    } else {
      const extra = fields
        ? Object.entries(fields)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : ''
      const prefix = level === 'info' ? '' : `${level}: `
      line = `${prefix}${message}${extra ? ` ${extra}` : ''}`
    }
    write(maskSecrets(line, secrets))
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  }
}

/** A logger that drops everything: the default for library code and tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} }
