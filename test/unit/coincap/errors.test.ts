import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { envelope, fixtureJson, fixtureText, makeAssets } from '../../helpers/coincap-fixtures.js'
import { API_KEY, collect, failure, NOW, testClient, url, useCoincapServer } from '../../helpers/coincap-server.js'

const { server, seen } = useCoincapServer()

describe('statuses that are not retried', () => {
  it('maps 401 to exit 77 after 1 request', async () => {
    server.use(http.get(url('assets'), () => HttpResponse.json({ error: 'Unauthorized' }, { status: 401 })))
    const error = await failure(collect(testClient().client.assets({ limit: 10 })))
    expect(error.exitCode).toBe(77)
    expect(error.message).toBe('CoinCap rejected the API key (401). Check COINCAP_API_KEY.')
    expect(seen).toHaveLength(1)
  })

  it('maps 403 with a Cloudflare HTML page to exit 77 after 1 request, without the page in the message', async () => {
    server.use(
      http.get(url('assets'), () => HttpResponse.html(fixtureText('errors/cloudflare-403.html'), { status: 403 })),
    )
    const error = await failure(collect(testClient().client.assets({ limit: 10 })))
    expect(error.exitCode).toBe(77)
    expect(error.message).toBe(
      "CoinCap answered 403 with an HTML page: API key rejected or out of credits. Check COINCAP_API_KEY and your plan's credits.",
    )
    expect(seen).toHaveLength(1)
  })

  it.each([['Monthly quota exceeded'], ['Out of credits']])(
    'maps a 429 saying %j without Retry-After to exit 77 after 1 request: credits, not pace',
    async (text) => {
      server.use(http.get(url('assets'), () => HttpResponse.json({ error: text }, { status: 429 })))
      const error = await failure(collect(testClient().client.assets({ limit: 10 })))
      expect(error.exitCode).toBe(77)
      expect(seen).toHaveLength(1)
    },
  )

  it('retries a 429 that names its quota but says when to come back (Retry-After): a rate limit', async () => {
    let calls = 0
    server.use(
      http.get(url('rates'), () =>
        ++calls === 1
          ? HttpResponse.json({ error: 'quota' }, { status: 429, headers: { 'retry-after': '1' } })
          : HttpResponse.json(envelope([])),
      ),
    )
    await collect(testClient().client.rates())
    expect(seen).toHaveLength(2)
  })

  it('maps 404 for an unknown asset history to exit 2 naming the asset, after 1 request', async () => {
    server.use(
      http.get(url('assets/foo/history'), () =>
        HttpResponse.json({ error: 'foo not found', timestamp: 1726081715628 }, { status: 404 }),
      ),
    )
    const error = await failure(collect(testClient().client.history('foo', 'd1')))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe("CoinCap does not know asset 'foo'.")
    expect(seen).toHaveLength(1)
  })

  it('maps a 404 to ids= to exit 2 naming the asset CoinCap named', async () => {
    server.use(http.get(url('assets'), () => HttpResponse.json({ error: 'foo not found' }, { status: 404 })))
    const error = await failure(collect(testClient().client.assets({ ids: ['bitcoin', 'foo'] })))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe("CoinCap does not know asset 'foo'.")
    expect(seen).toHaveLength(1)
  })

  it('maps 404 for a markets exchange filter to exit 2 naming the filter', async () => {
    const body = fixtureJson('samples/v3-error-404-exchange-not-found.json')
    server.use(http.get(url('markets'), () => HttpResponse.json(body, { status: 404 })))
    const error = await failure(collect(testClient().client.markets({ exchangeId: 'binancee' })))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe("CoinCap does not know exchangeId 'binancee' (Exchange not found).")
  })

  it('maps 400 to exit 2 naming the request, after 1 request', async () => {
    const body = fixtureJson('samples/v3-error-400-invalid-query.json')
    server.use(http.get(url('assets/bitcoin/history'), () => HttpResponse.json(body, { status: 400 })))
    const error = await failure(collect(testClient().client.history('bitcoin', 'm1', { start: 1, end: 2 })))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe(
      'CoinCap rejected the query GET /assets/bitcoin/history?interval=m1&start=1&end=2 (CoinCap answered 400: Invalid query parameters).',
    )
    expect(seen).toHaveLength(1)
  })

  it('fails at once with exit 69 and the v3 URL when the retired v2 API answers 429', async () => {
    const body = fixtureJson('samples/v2-deprecated-response-2025.json')
    server.use(http.get(url('assets'), () => HttpResponse.json(body, { status: 429 })))
    const { client, waits } = testClient()
    const error = await failure(collect(client.assets({ limit: 10 })))
    expect(error.exitCode).toBe(69)
    expect(error.message).toMatch(
      /^This CoinCap API version is retired .* Use the v3 URL https:\/\/rest\.coincap\.io\/v3\.$/,
    )
    expect(seen).toHaveLength(1)
    expect(waits).toEqual([])
  })

  it('maps an HTML 404 to exit 78 asking whether --api-url is right', async () => {
    server.use(http.get(url('rates'), () => HttpResponse.html('<html><body>Not Found</body></html>', { status: 404 })))
    const error = await failure(collect(testClient().client.rates()))
    expect(error.exitCode).toBe(78)
    expect(error.message).toBe('CoinCap answered 404 with an HTML page for GET /rates: is --api-url right?')
  })
})

describe('envelope validation', () => {
  it('fails with exit 65 naming the endpoint when the envelope has no timestamp', async () => {
    server.use(http.get(url('assets'), () => HttpResponse.json({ data: makeAssets(2) })))
    const error = await failure(collect(testClient().client.assets({ limit: 2 })))
    expect(error.exitCode).toBe(65)
    expect(error.message).toContain('GET /assets?limit=2&offset=0')
    expect(error.message).toContain('timestamp')
    expect(seen).toHaveLength(1)
  })

  it('fails with exit 65 when data is an object instead of an array', async () => {
    server.use(http.get(url('exchanges'), () => HttpResponse.json({ data: {}, timestamp: 1726084388658 })))
    const error = await failure(collect(testClient().client.exchanges()))
    expect(error.exitCode).toBe(65)
    expect(error.message).toContain('GET /exchanges')
    expect(error.message).toContain('data')
  })

  it('accepts the captured d1 history sample, which has no timestamp, stamping it with the local clock', async () => {
    const body = fixtureJson('samples/v3-asset-history-bitcoin-d1.json')
    server.use(http.get(url('assets/bitcoin/history'), () => HttpResponse.json(body)))
    const answers = await collect(testClient().client.history('bitcoin', 'd1'))
    expect(answers).toHaveLength(1)
    expect(answers[0]?.timestamp).toBe(NOW)
    expect(answers[0]?.data).toHaveLength(2)
  })

  it('still rejects a list answer without timestamp outside history with exit 65', async () => {
    server.use(http.get(url('rates'), () => HttpResponse.json({ data: [] })))
    const error = await failure(collect(testClient().client.rates()))
    expect(error.exitCode).toBe(65)
  })
})

describe('secrecy', () => {
  it('never puts the API key in an error message or a log line, even when the server echoes it', async () => {
    const echo = `invalid key ${API_KEY}`
    const responses = [
      () => HttpResponse.json({ error: echo }, { status: 403 }),
      () => HttpResponse.json({ error: echo }, { status: 400 }),
      () => HttpResponse.json({ error: echo }, { status: 404 }),
      () => HttpResponse.json({ error: echo }, { status: 503 }),
      () => HttpResponse.error(),
      () => HttpResponse.json({ data: echo, timestamp: 1 }),
    ]
    const { client, logs } = testClient({ retries: 1 })
    const texts: string[] = []
    for (const respond of responses) {
      server.use(http.get(url('assets'), respond))
      const error = await failure(collect(client.assets({ limit: 1 })))
      texts.push(error.message, String(error.hint), String((error.cause as Error | undefined)?.message))
    }
    expect(texts.join('\n')).not.toContain(API_KEY)
    expect(logs.length).toBeGreaterThan(0)
    expect(logs.join('\n')).not.toContain(API_KEY)
  })
})

describe('aborting', () => {
  it('stops during a retry wait and makes no further request', async () => {
    server.use(http.get(url('assets'), () => HttpResponse.json({ error: 'x' }, { status: 500 })))
    const controller = new AbortController()
    const { client } = testClient({ signal: controller.signal, sleep: async () => controller.abort() })
    const error = await failure(collect(client.assets({ limit: 10 })))
    expect(error.name).toBe('AbortError')
    expect(seen).toHaveLength(1)
  })

  it('stops between pages and makes no further request', async () => {
    server.use(http.get(url('assets'), () => HttpResponse.json(envelope(makeAssets(2)))))
    const controller = new AbortController()
    const { client } = testClient({ signal: controller.signal, pageSize: 2 })
    const answers = client.assets({ limit: 10 })
    await answers.next()
    controller.abort(new Error('stop'))
    const error = await failure(answers.next())
    expect(error.message).toBe('stop')
    expect(seen).toHaveLength(1)
  })

  it('makes no request once aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    const error = await failure(collect(testClient({ signal: controller.signal }).client.rates()))
    expect(error.name).toBe('AbortError')
    expect(seen).toHaveLength(0)
  })
})
