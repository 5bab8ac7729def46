import { delay, HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { envelope, fixtureJson, fixtureText, makeAssets } from '../../helpers/coincap-fixtures.js'
import { collect, failure, NOW, testClient, url, useCoincapServer } from '../../helpers/coincap-server.js'

const { server, seen } = useCoincapServer()

const ok = () => HttpResponse.json(envelope(makeAssets(3)))
const serverError = () => HttpResponse.json(fixtureJson('samples/v3-error-500.json'), { status: 500 })

/** Answers with each of `responses` in turn, then with the last one forever. */
function sequence(...responses: (() => Response | Promise<Response>)[]) {
  let call = 0
  return () => {
    const respond = responses[Math.min(call, responses.length - 1)]
    call += 1
    return respond?.() ?? HttpResponse.error()
  }
}

const tooMany = (retryAfter?: string) => () =>
  HttpResponse.json(
    { error: 'Too many requests' },
    { status: 429, headers: retryAfter ? { 'retry-after': retryAfter } : {} },
  )

describe('rate limits', () => {
  it('waits exactly the Retry-After seconds after two 429s, then succeeds on the third request', async () => {
    server.use(http.get(url('assets'), sequence(tooMany('2'), tooMany('3'), ok)))
    const { client, waits } = testClient()
    const answers = await collect(client.assets({ limit: 3 }))
    expect(seen).toHaveLength(3)
    expect(waits).toEqual([2000, 3000])
    expect(answers[0]?.data).toHaveLength(3)
  })

  it('waits until a Retry-After HTTP date, measured with the injected clock', async () => {
    const at = new Date(NOW + 7000).toUTCString()
    server.use(http.get(url('assets'), sequence(tooMany(at), ok)))
    const { client, waits } = testClient()
    await collect(client.assets({ limit: 3 }))
    expect(seen).toHaveLength(2)
    expect(waits).toEqual([7000])
  })

  it('treats Retry-After 0 as no hint and waits the computed backoff', async () => {
    server.use(http.get(url('assets'), sequence(tooMany('0'), tooMany(), ok)))
    const { client, waits } = testClient({ retryBaseMs: 1000 })
    await collect(client.assets({ limit: 3 }))
    // Equal jitter with random() = 0.5: 3/4 of 1000, then of 2000.
    expect(waits).toEqual([750, 1500])
  })

  it.each([
    ['Retry-After is beyond the single-wait cap', '90', { maxWaitMs: 60_000 }, 'beyond the 60 s cap', []],
    ['the next wait would pass the total-wait cap', '40', { maxTotalWaitMs: 100_000 }, 'total cap', [40_000, 40_000]],
  ])('gives up with exit 69, sleeping no more, once %s', async (_when, retryAfter, caps, said, waited) => {
    server.use(http.get(url('assets'), tooMany(retryAfter)))
    const { client, waits } = testClient(caps)
    const error = await failure(collect(client.assets({ limit: 3 })))
    expect(error.exitCode).toBe(69)
    expect(error.message).toContain('GET /assets?limit=3&offset=0')
    expect(error.message).toContain(said)
    expect(waits).toEqual(waited)
    expect(seen).toHaveLength(waited.length + 1)
  })
})

describe('server errors and network failures', () => {
  it('retries 500s with exponential backoff and returns the answer that follows', async () => {
    server.use(http.get(url('assets'), sequence(serverError, serverError, ok)))
    const { client, waits } = testClient()
    const answers = await collect(client.assets({ limit: 3 }))
    expect(seen).toHaveLength(3)
    expect(waits).toEqual([750, 1500])
    expect(answers).toHaveLength(1)
  })

  it('ends a 500 that never stops with exit 69 after exactly retries + 1 requests, naming endpoint and status', async () => {
    server.use(http.get(url('assets'), serverError))
    const { client, waits } = testClient({ retries: 3 })
    const error = await failure(collect(client.assets({ limit: 3 })))
    expect(error.exitCode).toBe(69)
    expect(error.message).toBe(
      'CoinCap is unavailable: GET /assets?limit=3&offset=0 failed 4 times; last: CoinCap answered 500: Internal server error.',
    )
    expect(seen).toHaveLength(4)
    expect(waits).toEqual([750, 1500, 3000])
  })

  it('caps the computed backoff at retryMaxDelayMs before jitter', async () => {
    server.use(http.get(url('assets'), serverError))
    const { client, waits } = testClient({ retries: 5, retryMaxDelayMs: 4000 })
    await failure(collect(client.assets({ limit: 3 })))
    expect(waits).toEqual([750, 1500, 3000, 3000, 3000])
  })

  it('retries a request that never answers after the timeout, then gives up with exit 69', async () => {
    server.use(
      http.get(url('assets'), async () => {
        await delay('infinite')
        return ok()
      }),
    )
    const { client } = testClient({ timeoutMs: 20, retries: 2 })
    const error = await failure(collect(client.assets({ limit: 3 })))
    expect(error.exitCode).toBe(69)
    expect(error.message).toContain('timeout after 20 ms')
    expect(seen).toHaveLength(3)
  })

  it('retries a connection reset', async () => {
    server.use(
      http.get(
        url('assets'),
        sequence(() => HttpResponse.error(), ok),
      ),
    )
    const { client, waits } = testClient()
    const answers = await collect(client.assets({ limit: 3 }))
    expect(seen).toHaveLength(2)
    expect(waits).toEqual([750])
    expect(answers[0]?.data).toHaveLength(3)
  })

  it('retries a 200 whose JSON body is cut short', async () => {
    const whole = JSON.stringify(envelope(makeAssets(3)))
    const truncated = () =>
      new HttpResponse(whole.slice(0, 200), { status: 200, headers: { 'content-type': 'application/json' } })
    server.use(http.get(url('assets'), sequence(truncated, ok)))
    const answers = await collect(testClient().client.assets({ limit: 3 }))
    expect(seen).toHaveLength(2)
    expect(answers[0]?.data).toHaveLength(3)
  })

  it('says "CoinCap answered 503 with an HTML page" without quoting the page when 503s outlast the retries', async () => {
    server.use(
      http.get(url('rates'), () => HttpResponse.html(fixtureText('errors/cloudflare-503.html'), { status: 503 })),
    )
    const error = await failure(collect(testClient({ retries: 1 }).client.rates()))
    expect(error.exitCode).toBe(69)
    expect(error.message).toContain('CoinCap answered 503 with an HTML page')
    expect(error.message).not.toMatch(/<|Cloudflare|Ray ID/)
  })
})

describe('counting', () => {
  it('counts every attempt as a request and each retry with its wait', async () => {
    server.use(http.get(url('assets'), sequence(serverError, tooMany('4'), ok)))
    const { client } = testClient()
    await collect(client.assets({ limit: 3 }))
    const stats = client.stats
    expect([stats.requests, stats.retries, stats.waitedMs]).toEqual([3, 2, 4750])
    expect(stats.byDataset.assets?.requests).toBe(3)
  })

  it('logs a warning per retry with the status and the wait', async () => {
    server.use(http.get(url('assets'), sequence(tooMany('2'), ok)))
    const { client, logs } = testClient()
    await collect(client.assets({ limit: 3 }))
    const warnings = logs.filter((line) => line.startsWith('warn'))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('"error":"CoinCap answered 429: Too many requests"')
    expect(warnings[0]).toContain('"waitMs":2000')
  })
})
