import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { estimateCredits } from '../../../src/coincap/index.js'
import { timerSleep } from '../../../src/coincap/options.js'
import { backoffMs, parseRetryAfter } from '../../../src/coincap/retry.js'
import { envelope, fixtureText } from '../../helpers/coincap-fixtures.js'
import { collect, failure, testClient, url, useCoincapServer } from '../../helpers/coincap-server.js'

const { server } = useCoincapServer()

/** A JSON answer of exactly `bytes` bytes. */
function answerOfSize(bytes: number): string {
  const empty = JSON.stringify({ data: [''], timestamp: 1 })
  return JSON.stringify({ data: ['x'.repeat(bytes - empty.length)], timestamp: 1 })
}

describe('credits', () => {
  it.each([
    [0, 1],
    [1, 2],
    [2500, 2],
    [2501, 3],
    [45_000, 19],
  ])('estimates %i bytes at %i credits', (bytes, credits) => {
    expect(estimateCredits(bytes)).toBe(credits)
  })

  it('costs a 7,501-byte answer 1 + ceil(7501 / 2500) = 5 credits', async () => {
    const body = answerOfSize(7501)
    server.use(
      http.get(url('rates'), () => new HttpResponse(body, { headers: { 'content-type': 'application/json' } })),
    )
    const { client } = testClient()
    await collect(client.rates())
    expect(client.stats).toEqual({
      requests: 1,
      bytes: 7501,
      credits: 5,
      retries: 0,
      waitedMs: 0,
      byDataset: { rates: { requests: 1, bytes: 7501, credits: 5 } },
    })
  })

  it('costs the demo top 100 assets 19 credits, as docs/operations.md estimates', async () => {
    const body = fixtureText('assets.json')
    server.use(
      http.get(url('assets'), () => new HttpResponse(body, { headers: { 'content-type': 'application/json' } })),
    )
    const { client } = testClient()
    await collect(client.assets({ limit: 100 }))
    expect(client.stats.credits).toBe(19)
  })

  it('counts the bytes of error answers, no bytes for attempts without an answer, credits only for data', async () => {
    let call = 0
    server.use(
      http.get(url('rates'), () => {
        call += 1
        if (call === 1) return HttpResponse.error()
        if (call === 2) return HttpResponse.json({ error: 'Internal server error' }, { status: 500 })
        return HttpResponse.json(envelope([]))
      }),
    )
    const { client } = testClient()
    await collect(client.rates())
    const { requests, bytes, credits } = client.stats
    const answered = [{ error: 'Internal server error' }, envelope([])].map((body) => JSON.stringify(body).length)
    expect(answered).toEqual([33, 37])
    // Only the 2xx answer is billed: 1 + ceil(37 / 2500).
    expect({ requests, bytes, credits }).toEqual({ requests: 3, bytes: 70, credits: 2 })
  })

  it.each([401, 403, 429, 503])('bills no credit for a %i answer', async (status) => {
    server.use(http.get(url('rates'), () => HttpResponse.json({ error: 'no' }, { status })))
    const { client } = testClient({ retries: 0 })
    await expect(collect(client.rates())).rejects.toThrow()
    expect(client.stats).toMatchObject({ requests: 1, credits: 0 })
    expect(client.stats.bytes).toBeGreaterThan(0)
  })

  it('bills nothing when the answers are free (the bundled demo)', async () => {
    server.use(http.get(url('rates'), () => HttpResponse.json(envelope([]))))
    const { client } = testClient({ billed: false })
    await collect(client.rates())
    expect(client.stats).toMatchObject({ requests: 1, bytes: 37, credits: 0 })
  })
})

describe('logging', () => {
  it('logs one debug line per request with method, path and query, status, bytes and ms', async () => {
    server.use(http.get(url('exchanges'), () => HttpResponse.json(envelope([]))))
    const { client, logs } = testClient()
    await collect(client.exchanges())
    expect(logs).toEqual([
      'debug CoinCap request {"method":"GET","path":"/exchanges?limit=2000&offset=0","status":200,"bytes":37,"ms":0}',
    ])
  })
})

describe('waiting', () => {
  it('reads Retry-After as seconds or an HTTP date, and 0, past dates and junk as no hint', () => {
    const now = Date.parse('2025-06-01T12:00:00Z')
    expect(parseRetryAfter('5', now)).toBe(5000)
    expect(parseRetryAfter('Sun, 01 Jun 2025 12:00:30 GMT', now)).toBe(30_000)
    expect([parseRetryAfter('0', now), parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', now)]).toEqual([
      undefined,
      undefined,
    ])
    expect([parseRetryAfter('soon', now), parseRetryAfter(undefined, now)]).toEqual([undefined, undefined])
  })

  it('doubles the backoff per retry with equal jitter', () => {
    const options = { retryBaseMs: 1000, retryMaxDelayMs: 30_000 }
    expect([1, 2, 3].map((retry) => backoffMs(retry, { ...options, random: () => 0 }))).toEqual([500, 1000, 2000])
    expect(backoffMs(10, { ...options, random: () => 0.999_999 })).toBe(30_000)
  })

  it('ends the default timer sleep with the abort reason', async () => {
    const controller = new AbortController()
    const sleeping = timerSleep(60_000, controller.signal)
    controller.abort(new Error('stop'))
    expect((await failure(sleeping)).message).toBe('stop')
  })

  it('rejects an option out of range as a configuration error (exit 78)', () => {
    expect(() => testClient({ requestsPerMinute: 700 })).toThrowError(/requestsPerMinute/)
    expect(() => testClient({ apiUrl: 'not a url' })).toThrowError(/Invalid CoinCap API URL/)
  })
})
