/**
 * The landing format of `docs/cli.md`: NDJSON, one CoinCap answer a line. `readLanding` streams a file or
 * stdin (plain or gzip, detected by its magic bytes), validating each line; a bad line is exit 65 with
 * its line number. `formatLandingLine` is the writer's half.
 */
import { close, constants, createReadStream, open } from 'node:fs'
import { stat } from 'node:fs/promises'
import net from 'node:net'
import { PassThrough, type Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import { z } from 'zod'
import { DATASETS, INTERVALS } from '../catalogue/index.js'
import type { Answer } from '../coincap/types.js'
import { epochMs, text } from '../coincap/schemas.js'
import { DataValidationError, UsageError } from '../core/errors.js'

/** The longest line accepted: far above any real CoinCap answer, low enough to keep memory bounded. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024

const landingLineSchema = z
  .object({
    dataset: z.enum(DATASETS),
    timestamp: epochMs,
    data: z.array(z.unknown()),
    asset: text.min(1).optional(),
    interval: z.enum(INTERVALS).optional(),
    start: epochMs.optional(),
    end: epochMs.optional(),
    cost: z.object({ requests: z.number().int().min(0), credits: z.number().int().min(0) }).optional(),
    demo: z.literal(true).optional(),
  })
  .refine((l) => l.dataset !== 'history' || (l.asset && l.interval), 'a history line needs "asset" and "interval"')

/** What fetching one answer cost: requests (retries included) and estimated CoinCap credits. */
export interface AnswerCost {
  requests: number
  credits: number
}

/**
 * One landing line as `extract` writes it. `cost` travels with the answer so that the `load` that stores it
 * can record the credits the extract spent (extract itself has no database to record them in).
 */
export function formatLandingLine(answer: Answer, cost?: AnswerCost, demo?: boolean): string {
  const { dataset, asset, interval, start, end, timestamp, data } = answer
  // `"demo":true` labels made-up answers (extract --demo), so the load that stores them keeps the label.
  const label = demo ? { demo: true } : {}
  return `${JSON.stringify({ dataset, asset, interval, start, end, timestamp, cost, ...label, data })}\n`
}

/**
 * Opens `path` (or stdin for `-`) and undoes gzip when the content starts with its magic bytes. `signal`
 * ends the wait for a file to become readable (a FIFO without a writer waits for one).
 */
export async function openLanding(path: string, signal?: AbortSignal): Promise<Readable> {
  const raw: Readable = path === '-' ? process.stdin : await openFile(path, signal)
  if (path !== '-') {
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        raw.destroy()
        reject(signal!.reason)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      raw.once('readable', () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      })
      raw.once('error', (error: NodeJS.ErrnoException) => reject(cannotRead(path, error)))
    })
  }
  const first: Buffer | null = raw.read(2)
  if (first) raw.unshift(first)
  const gzip = first !== null && first[0] === 0x1f && first[1] === 0x8b
  const out = gzip ? createGunzip() : new PassThrough()
  // Broken gzip fails before anyone reads: the error is kept on the stream (readLanding throws it when it
  // reads) instead of crashing the process for want of a listener.
  out.on('error', () => {})
  raw.on('error', (error) => out.destroy(error))
  // Whoever stops reading (a signal) lets go of the source too: a FIFO's pipe would keep the process alive.
  if (raw !== process.stdin) out.once('close', () => raw.destroy())
  return raw.pipe(out)
}

function cannotRead(path: string, error: NodeJS.ErrnoException): UsageError {
  return new UsageError(
    `Cannot read ${path}: ${error.code ?? error.message}.`,
    'Give a landing file written by extract, or - for stdin.',
  )
}

/**
 * A file as a stream. A FIFO is read as a pipe (by the event loop, so destroying it ends a read that waits
 * for its writer) once its open returns: that open waits for a writer in a worker thread, where no signal
 * reaches it and which even process.exit waits for. On abort it is let go by opening the FIFO for writing.
 */
async function openFile(path: string, signal?: AbortSignal): Promise<Readable> {
  const isFifo = await stat(path).then(
    (s) => s.isFIFO(),
    () => false, // the stream reports the reason (ENOENT, EACCES)
  )
  if (!isFifo) return createReadStream(path)
  const fd = await new Promise<number>((resolve, reject) => {
    const letGo = () => {
      open(path, constants.O_WRONLY | constants.O_NONBLOCK, (error, writer) => {
        if (!error) close(writer, () => {})
      })
    }
    signal?.addEventListener('abort', letGo, { once: true })
    open(path, 'r', (error, opened) => {
      signal?.removeEventListener('abort', letGo)
      if (error) reject(cannotRead(path, error))
      else if (signal?.aborted) close(opened, () => reject(signal.reason))
      else resolve(opened)
    })
  })
  return new net.Socket({ fd, readable: true, writable: false })
}

/** A validated landing line with its 1-based line number. */
export interface LandingLine {
  line: number
  answer: Answer
  /** What extract spent on this answer; absent in files written by other tools or older versions. */
  cost?: AnswerCost
  /** The answer is made up (written by `extract --demo`). */
  demo: boolean
}

/**
 * Streams validated answers from a landing source; blank lines are skipped.
 * @throws DataValidationError (65) naming the line number and what is wrong with it.
 */
export async function* readLanding(input: Readable, name: string): AsyncGenerator<LandingLine> {
  let line = 0
  try {
    for await (const raw of splitLines(input)) {
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw
      line += 1
      if (text.trim() === '') continue
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw bad(name, line, 'not valid JSON')
      }
      const parsed = landingLineSchema.safeParse(json)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        throw bad(name, line, `${issue.path.join('.') || 'line'}: ${issue.message}`)
      }
      const { cost, demo, ...answer } = parsed.data
      yield { line, answer: answer as Answer, cost, demo: demo === true }
    }
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'Z_DATA_ERROR' ||
      (error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR'
    ) {
      throw bad(name, line + 1, 'broken gzip data')
    }
    if ((error as Error).message === LINE_TOO_LONG) throw bad(name, line + 1, `longer than ${MAX_LINE_BYTES} bytes`)
    throw error
  }
}

const LINE_TOO_LONG = 'landing line too long'

/**
 * Lines of a stream, pulled chunk by chunk so back-pressure holds (readline's iterator reads ahead without
 * bound when the consumer is slower than the disk). A line over MAX_LINE_BYTES is an error, not a buffer.
 */
async function* splitLines(input: Readable): AsyncGenerator<string> {
  let rest = ''
  for await (const chunk of input.setEncoding('utf8') as AsyncIterable<string>) {
    let start = 0
    let newline = chunk.indexOf('\n')
    while (newline !== -1) {
      yield rest + chunk.slice(start, newline)
      rest = ''
      start = newline + 1
      newline = chunk.indexOf('\n', start)
    }
    rest += chunk.slice(start)
    if (rest.length > MAX_LINE_BYTES) throw new Error(LINE_TOO_LONG)
  }
  if (rest !== '') yield rest
}

function bad(name: string, line: number, reason: string): DataValidationError {
  return new DataValidationError(
    `${name} line ${line}: ${reason}. Nothing from this file was loaded.`,
    'Each line must be a CoinCap answer as extract writes it: {"dataset":...,"timestamp":...,"data":[...]}.',
  )
}
