/**
 * Memory of a large run: `crypto-etl run --datasets markets` against a CoinCap-like server holding 300,000
 * markets (150 pages), into the local Postgres server. The run streams each page into the dataset's
 * transaction, so its peak should stay under the 200 MiB ceiling of a 1M-row load.
 */
import type { ServerResponse } from 'node:http'
import postgres from 'postgres'
import { startFixtureServer } from '../src/demo/server.js'
import { DATABASE_URL, measureCli } from './measure.js'
import type { BenchResult } from './types.js'

const MARKETS = 300_000
const CEILING_MIB = 200
const NOW = Date.UTC(2026, 0, 15, 12)

/** The market of rank `rank` (1-based): deterministic, shaped like CoinCap's. */
function market(rank: number): Record<string, unknown> {
  const exchange = `exchange-${rank % 300}`
  return {
    exchangeId: exchange,
    rank: String(rank),
    baseSymbol: `B${rank}`,
    baseId: `base-asset-${rank}`,
    quoteSymbol: 'USDT',
    quoteId: 'tether',
    priceQuote: `${(rank % 1000) + 1}.123456789012345678`,
    priceUsd: `${(rank % 1000) + 1}.123456789012345678`,
    volumeUsd24Hr: `${rank * 17}.987654321098765432`,
    percentExchangeVolume: '0.012345678901234567',
    tradesCount24Hr: String(rank * 3),
    updated: NOW - 60_000,
  }
}

function page(res: ServerResponse, url: URL): true {
  const offset = Number(url.searchParams.get('offset') ?? 0)
  const limit = Number(url.searchParams.get('limit') ?? 100)
  const data = []
  for (let rank = offset + 1; rank <= Math.min(offset + limit, MARKETS); rank++) data.push(market(rank))
  const text = JSON.stringify({ data, timestamp: NOW })
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text)
  return true
}

export async function run(): Promise<BenchResult[]> {
  const server = await startFixtureServer({
    now: () => NOW,
    intercept: (_req, res, url) => (url.pathname === '/v3/markets' ? page(res, url) : false),
  })
  const schema = `bench_markets_${process.pid}`
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    const env = {
      ...process.env,
      COINCAP_API_URL: server.url,
      COINCAP_API_KEY: 'bench',
      DATABASE_URL,
      CRYPTO_ETL_SCHEMA: schema,
    }
    const { ms, peakKiB } = await measureCli(['run', '--datasets', 'markets', '--quiet'], env)
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(schema)}.market_snapshots`
    if (count?.n !== MARKETS) throw new Error(`expected ${MARKETS} markets, found ${count?.n}`)
    const peakMiB = Math.round(peakKiB / 1024)
    return [
      {
        name: 'run --datasets markets, 300,000 markets (server)',
        metrics: { 'peak MiB': peakMiB, s: Number((ms / 1000).toFixed(1)), requests: server.requests.length },
        verdict: `peak ${peakMiB} MiB ${peakMiB < CEILING_MIB ? '<' : '>='} ${CEILING_MIB}: ${peakMiB < CEILING_MIB ? 'met' : 'NOT met'}`,
      },
    ]
  } finally {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
    await server.close()
  }
}
