/**
 * A CoinCap-like server whose `/assets/{id}/history` answers are generated: one point per bucket of the
 * interval, on the epoch grid, from `since` to `until`, with holes, latency, cut-short answers and faults on
 * demand. Everything else (`/assets` for `--top`) is the demo server's fixtures.
 */
import type { ServerResponse } from 'node:http'
import { INTERVAL_MS, type Interval } from '../../src/catalogue/index.js'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'

/** A history request as the server saw it. */
export interface HistoryQuery {
  asset: string
  interval: Interval
  start: number
  end: number
  /** The Authorization header: tells apart the clients of one test. */
  authorization?: string
}

export interface HistorySourceOptions {
  /** Ids the source knows (others: 404 `<id> not found`). Default bitcoin, ethereum. */
  assets?: string[]
  /** First bucket with a point (per asset, ms). Default 0. */
  since?: number | ((asset: string) => number)
  /** No point at or after this time (ms). Default: none. */
  until?: number
  /** Buckets with no point at the source. */
  hole?: (asset: string, time: number) => boolean
  /** Delay before each history answer, in ms. */
  latencyMs?: number
  /** Answers this many history requests, then none: the later ones wait until their client goes away. */
  answerFirst?: number
  /** Answer at most this many points (the oldest), like an API cutting long ranges short. */
  maxPoints?: number
  /** Answer this request with an error status instead (e.g. 500), or undefined to answer normally. */
  fault?: (query: HistoryQuery) => number | undefined
  /** The envelope's `timestamp`. Default `Date.now`. */
  now?: () => number
}

export interface HistoryServer extends FixtureServer {
  /** History requests so far, in the order they arrived. */
  history: HistoryQuery[]
  /** Changes the source's behaviour from now on (e.g. to heal a fault between two runs). */
  set(options: Partial<HistorySourceOptions>): void
}

/** The price of `asset` at `time`: deterministic, printed as CoinCap prints decimals. */
function priceAt(asset: string, time: number): string {
  const base = asset === 'bitcoin' ? 60_000 : 3_000
  return (base + Math.sin(time / 3_600_000) * base * 0.05).toFixed(16)
}

/** The points the source holds for `[start, end]` (CoinCap's `end` is taken as inclusive here). */
function generatedPoints(asset: string, interval: Interval, start: number, end: number, o: HistorySourceOptions) {
  const step = INTERVAL_MS[interval]
  const since = typeof o.since === 'function' ? o.since(asset) : (o.since ?? 0)
  const points: { priceUsd: string; time: number; date: string }[] = []
  for (let t = Math.ceil(Math.max(start, since) / step) * step; t <= end; t += step) {
    if (o.until !== undefined && t >= o.until) break
    if (o.hole?.(asset, t)) continue
    points.push({ priceUsd: priceAt(asset, t), time: t, date: new Date(t).toISOString() })
    if (o.maxPoints !== undefined && points.length >= o.maxPoints) break
  }
  return points
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startHistoryServer(initial: HistorySourceOptions = {}): Promise<HistoryServer> {
  let options = { ...initial }
  const history: HistoryQuery[] = []
  const server = await startFixtureServer({
    now: () => (options.now ?? Date.now)(),
    intercept: async (req, res, url) => {
      const match = /^\/v3\/assets\/([^/]+)\/history$/.exec(url.pathname)
      if (!match) return false
      const asset = decodeURIComponent(match[1]!)
      const query: HistoryQuery = {
        asset,
        interval: url.searchParams.get('interval') as Interval,
        start: Number(url.searchParams.get('start')),
        end: Number(url.searchParams.get('end')),
        authorization: req.headers.authorization,
      }
      history.push(query)
      if (options.answerFirst !== undefined && history.length > options.answerFirst) {
        await new Promise((resolve) => res.on('close', resolve))
        return true
      }
      const timestamp = (options.now ?? Date.now)()
      if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs))
      if (!(options.assets ?? ['bitcoin', 'ethereum']).includes(asset)) {
        send(res, 404, { error: `${asset} not found`, timestamp })
        return true
      }
      const status = options.fault?.(query)
      if (status) {
        send(res, status, { error: 'Internal server error', timestamp })
        return true
      }
      send(res, 200, { data: generatedPoints(asset, query.interval, query.start, query.end, options), timestamp })
      return true
    },
  })
  return {
    ...server,
    history,
    set(changes) {
      options = { ...options, ...changes }
    },
  }
}

/** `[start, end)` of each history request, as the ledger writes windows (`end` was sent as `end - 1`). */
export const windowsAsked = (server: HistoryServer, asset?: string) =>
  server.history
    .filter((q) => asset === undefined || q.asset === asset)
    .map((q) => [new Date(q.start).toISOString(), new Date(q.end + 1).toISOString()])
