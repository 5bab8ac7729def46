import { HttpResponse, http } from 'msw'
import { describe, expect, it } from 'vitest'
import { envelope, fixtureJson, makeAssets } from '../../helpers/coincap-fixtures.js'
import { API_KEY, collect, failure, testClient, url, useCoincapServer } from '../../helpers/coincap-server.js'

const { server, seen } = useCoincapServer()

/**
 * Serves `/assets` pages out of `total` generated assets, honouring limit and offset. `later`, when given,
 * is the list every page after the first reads (ranks that moved in between).
 */
function serveRankedAssets(total: number, later?: (all: Record<string, unknown>[]) => Record<string, unknown>[]) {
  const all = makeAssets(total)
  let pages = 0
  server.use(
    http.get(url('assets'), ({ request }) => {
      const params = new URL(request.url).searchParams
      const offset = Number(params.get('offset') ?? 0)
      const limit = Number(params.get('limit') ?? 100)
      const list = pages++ > 0 && later ? later(all) : all
      return HttpResponse.json(envelope(list.slice(offset, offset + limit)))
    }),
  )
  return all
}

/** Fetches the top `limit` assets: the answers, the query of each request and the size of each page. */
async function fetchTop(limit: number) {
  const { client, logs } = testClient()
  const answers = await collect(client.assets({ limit }))
  const sizes = answers.map((answer) => answer.data.length)
  return { answers, logs, sizes, queries: seen.map((request) => request.query) }
}

describe('assets by rank', () => {
  it('fetches 2,500 assets in exactly 2 requests: limit 2000 offset 0, then 500 more from 50 places back', async () => {
    serveRankedAssets(3000)
    const { answers, queries, sizes } = await fetchTop(2500)
    expect(queries).toEqual([
      { limit: '2000', offset: '0' },
      { limit: '550', offset: '1950' },
    ])
    expect(sizes).toEqual([2000, 500])
    expect(answers.flatMap((answer) => answer.data).map((asset) => (asset as { rank: string }).rank)).toEqual(
      Array.from({ length: 2500 }, (_, i) => String(i + 1)),
    )
  })

  it('stops after a page shorter than its limit', async () => {
    serveRankedAssets(2100)
    const { queries, sizes } = await fetchTop(5000)
    expect(queries).toEqual([
      { limit: '2000', offset: '0' },
      { limit: '2000', offset: '1950' },
    ])
    expect(sizes).toEqual([2000, 100])
  })

  it('loses and repeats no asset when ranks shift between two pages', async () => {
    // After the first page, five assets of ranks 1996-2000 swap with the five of ranks 2001-2005.
    const all = serveRankedAssets(3000, (ranked) => [
      ...ranked.slice(0, 1995),
      ...ranked.slice(2000, 2005),
      ...ranked.slice(1995, 2000),
      ...ranked.slice(2005),
    ])
    const { answers, logs } = await fetchTop(2500)
    const ids = answers.flatMap((answer) => answer.data).map((asset) => (asset as { id: string }).id)
    expect(ids).toHaveLength(2500)
    expect(new Set(ids)).toEqual(new Set(all.slice(0, 2500).map((asset) => asset.id)))
    expect(logs.filter((line) => line.startsWith('warn'))).toEqual([])
  })

  it('warns when the list moved by more than the overlap between two pages', async () => {
    // 60 assets above the boundary are delisted after the first page: everything moves up 60 places.
    serveRankedAssets(3000, (ranked) => [...ranked.slice(0, 1000), ...ranked.slice(1060)])
    const { answers, logs } = await fetchTop(2500)
    expect(answers.flatMap((answer) => answer.data)).toHaveLength(2500)
    expect(logs.filter((line) => line.startsWith('warn'))).toEqual([
      'warn assets: the list moved by 50 places or more between two pages (offset 1950): some records may be missing from this snapshot. {"dataset":"assets","offset":1950}',
    ])
  })

  it('sends limit even for the default top 100, in one request', async () => {
    serveRankedAssets(500)
    const { queries } = await fetchTop(100)
    expect(queries).toEqual([{ limit: '100', offset: '0' }])
  })

  it('yields each answer whole: the raw records and the envelope timestamp', async () => {
    const sample = fixtureJson<{ data: unknown[]; timestamp: number }>('samples/v3-assets.json')
    server.use(http.get(url('assets'), () => HttpResponse.json(sample)))
    const answers = await collect(testClient().client.assets({ limit: 4 }))
    expect(answers).toEqual([{ dataset: 'assets', timestamp: sample.timestamp, data: sample.data }])
  })

  it('rejects a limit below 1 as a usage error without a request', async () => {
    const error = await failure(collect(testClient().client.assets({ limit: 0 })))
    expect(error.exitCode).toBe(2)
    expect(seen).toHaveLength(0)
  })
})

describe('assets by ids', () => {
  function serveById() {
    const known = new Map(makeAssets(300).map((asset) => [asset.id as string, asset]))
    server.use(
      http.get(url('assets'), ({ request }) => {
        const ids = new URL(request.url).searchParams.get('ids')?.split(',') ?? []
        return HttpResponse.json(envelope(ids.flatMap((id) => known.get(id) ?? [])))
      }),
    )
  }

  it('asks for a list of ids with ids= and a limit of their number', async () => {
    serveById()
    const answers = await collect(testClient().client.assets({ ids: ['asset-1', 'asset-7', 'asset-3'] }))
    expect(seen.map((request) => request.query)).toEqual([{ ids: 'asset-1,asset-7,asset-3', limit: '3' }])
    expect(answers[0]?.data.map((asset) => (asset as { id: string }).id)).toEqual(['asset-1', 'asset-7', 'asset-3'])
  })

  it('splits 150 ids into two requests of 100 and 50', async () => {
    serveById()
    const ids = Array.from({ length: 150 }, (_, i) => `asset-${i + 1}`)
    const answers = await collect(testClient().client.assets({ ids }))
    expect(seen.map((request) => request.query.limit)).toEqual(['100', '50'])
    expect(seen[1]?.query.ids?.split(',')[0]).toBe('asset-101')
    expect(answers.flatMap((answer) => answer.data)).toHaveLength(150)
  })

  it('sends each id once', async () => {
    serveById()
    await collect(testClient().client.assets({ ids: ['asset-2', 'asset-2', ' asset-5 '] }))
    expect(seen.map((request) => request.query.ids)).toEqual(['asset-2,asset-5'])
  })

  it('fails with exit 2 naming an id CoinCap left out of its answer', async () => {
    serveById()
    const error = await failure(collect(testClient().client.assets({ ids: ['asset-1', 'foo'] })))
    expect(error.exitCode).toBe(2)
    expect(error.message).toBe("CoinCap does not know asset 'foo'.")
  })

  it('only warns about a left-out id when unknownIds is warn', async () => {
    serveById()
    const { client, logs } = testClient()
    const answers = await collect(client.assets({ ids: ['asset-1', 'foo'], unknownIds: 'warn' }))
    expect(answers[0]?.data).toHaveLength(1)
    expect(logs.filter((line) => line.startsWith('warn'))).toEqual([
      `warn CoinCap does not know asset 'foo'. {"missing":"foo"}`,
    ])
  })
})

describe('exchanges, markets, rates and history', () => {
  it('pages exchanges with limit and offset until a short page', async () => {
    const exchanges = fixtureJson<{ data: unknown[] }>('exchanges.json').data
    server.use(
      http.get(url('exchanges'), ({ request }) => {
        const params = new URL(request.url).searchParams
        const offset = Number(params.get('offset'))
        return HttpResponse.json(envelope(exchanges.slice(offset, offset + Number(params.get('limit')))))
      }),
    )
    const answers = await collect(testClient({ pageSize: 10 }).client.exchanges())
    expect(seen.map((request) => request.query)).toEqual([
      { limit: '10', offset: '0' },
      { limit: '10', offset: '8' },
    ])
    expect(answers.flatMap((answer) => answer.data)).toEqual(exchanges)
  })

  it('does not yield the empty page that ends an exact multiple of the page size', async () => {
    const exchanges = fixtureJson<{ data: unknown[] }>('exchanges.json').data.slice(0, 4)
    server.use(
      http.get(url('exchanges'), ({ request }) => {
        const offset = Number(new URL(request.url).searchParams.get('offset'))
        return HttpResponse.json(envelope(exchanges.slice(offset, offset + 2)))
      }),
    )
    const answers = await collect(testClient({ pageSize: 2 }).client.exchanges())
    expect(seen).toHaveLength(3)
    expect(answers.map((answer) => answer.data.length)).toEqual([2, 2])
  })

  it('passes the markets filters and a limit on every page', async () => {
    server.use(http.get(url('markets'), () => HttpResponse.json(envelope([]))))
    const answers = await collect(testClient().client.markets({ exchangeId: 'binance', quoteSymbol: 'USDT' }))
    expect(seen.map((request) => request.query)).toEqual([
      { exchangeId: 'binance', quoteSymbol: 'USDT', limit: '2000', offset: '0' },
    ])
    expect(answers).toEqual([{ dataset: 'markets', timestamp: envelope([]).timestamp, data: [] }])
  })

  it('stops markets at their limit', async () => {
    const markets = fixtureJson<{ data: unknown[] }>('markets.json').data
    server.use(http.get(url('markets'), () => HttpResponse.json(envelope(markets.slice(0, 5)))))
    await collect(testClient().client.markets({ assetId: 'bitcoin', limit: 5 }))
    expect(seen.map((request) => request.query)).toEqual([{ assetId: 'bitcoin', limit: '5', offset: '0' }])
  })

  it('fetches all rates in one request', async () => {
    const rates = fixtureJson<{ data: unknown[]; timestamp: number }>('rates.json')
    server.use(http.get(url('rates'), () => HttpResponse.json(rates)))
    const answers = await collect(testClient().client.rates())
    expect(seen.map((request) => [request.path, request.query])).toEqual([['/rates', {}]])
    expect(answers).toEqual([{ dataset: 'rates', timestamp: rates.timestamp, data: rates.data }])
  })

  it('fetches one asset history window as one answer carrying asset, interval, start and end', async () => {
    const history = fixtureJson<{ data: unknown[]; timestamp: number }>('history-bitcoin-h1.json')
    server.use(http.get(url('assets/bitcoin/history'), () => HttpResponse.json(history)))
    const window = { start: 1_725_476_400_000, end: 1_726_081_200_000 }
    const answers = await collect(testClient().client.history('bitcoin', 'h1', window))
    expect(seen.map((request) => request.query)).toEqual([
      { interval: 'h1', start: '1725476400000', end: '1726081200000' },
    ])
    expect(answers).toEqual([
      {
        dataset: 'history',
        asset: 'bitcoin',
        interval: 'h1',
        ...window,
        timestamp: history.timestamp,
        data: history.data,
      },
    ])
  })

  it('rejects an unknown interval as a usage error without a request', async () => {
    const error = await failure(collect(testClient().client.history('bitcoin', 'h3' as 'h1')))
    expect(error.exitCode).toBe(2)
    expect(seen).toHaveLength(0)
  })
})

describe('authentication', () => {
  it('sends the key as a Bearer header and never in the URL', async () => {
    server.use(http.get(url('rates'), () => HttpResponse.json(envelope([]))))
    await collect(testClient().client.rates())
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(seen[0]?.href).not.toContain(API_KEY)
  })

  it('builds a client without a key, and fails with exit 77 naming COINCAP_API_KEY and --api-key at the first request', async () => {
    const { client } = testClient({ apiKey: undefined })
    const error = await failure(collect(client.rates()))
    expect(error.exitCode).toBe(77)
    expect(`${error.message} ${error.hint}`).toMatch(/COINCAP_API_KEY.*--api-key/)
    expect(seen).toHaveLength(0)
  })
})
