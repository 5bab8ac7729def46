/**
 * A fake CoinCap for unit tests: msw intercepting got's requests (unhandled ones fail the test), a log of
 * what was asked, and a client wired to an injected clock that records each wait instead of sleeping.
 */
import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { type Answer, CoincapClient, type CoincapClientOptions } from '../../src/coincap/index.js'
import type { Logger } from '../../src/core/log.js'

const API_URL = 'https://coincap.test/v3'
export const API_KEY = 'ck-test-5f1e9a27c3b84d60'
/** The injected clock's time: a whole second, so HTTP dates (second precision) give exact waits. */
export const NOW = Date.parse('2026-06-01T12:00:00.000Z')

/** `${API_URL}/<path>`, for msw handlers. */
export const url = (path: string) => `${API_URL}/${path}`

/** A request as the fake server saw it. */
export interface SeenRequest {
  path: string
  query: Record<string, string>
  headers: Record<string, string>
  href: string
}

/** Starts one msw server for the test file; `seen` lists the requests of the current test. */
export function useCoincapServer() {
  const server = setupServer()
  const seen: SeenRequest[] = []
  server.events.on('request:start', ({ request }) => {
    const parsed = new URL(request.url)
    seen.push({
      path: parsed.pathname.replace(/^\/v3/, ''),
      query: Object.fromEntries(parsed.searchParams),
      headers: Object.fromEntries(request.headers),
      href: request.url,
    })
  })
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
  afterEach(() => {
    server.resetHandlers()
    seen.length = 0
  })
  afterAll(() => server.close())
  return { server, seen }
}

/** A client for tests: fake clock, recorded waits, captured log lines, jitter fixed at 0.5. */
export function testClient(options: CoincapClientOptions = {}) {
  const waits: number[] = []
  const logs: string[] = []
  const capture =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`)
    }
  const log: Logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') }
  const client = new CoincapClient({
    apiKey: API_KEY,
    apiUrl: API_URL,
    log,
    now: () => NOW,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms)
    },
    ...options,
  })
  return { client, waits, logs }
}

/** Every answer of a generator. */
export async function collect(answers: AsyncIterable<Answer>): Promise<Answer[]> {
  const out: Answer[] = []
  for await (const answer of answers) out.push(answer)
  return out
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<Error & { exitCode?: number; hint?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a rejection')
}
