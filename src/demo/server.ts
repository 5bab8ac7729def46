/**
 * A CoinCap-like HTTP server on loopback that replays the bundled answers in `fixtures/coincap/`,
 * stamped with the current time: what `run --demo` talks to, and what end-to-end tests drive. Paging
 * (`limit`/`offset`), `ids=` and history windows behave as CoinCap's do.
 */
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { CATALOGUE, SNAPSHOT_DATASETS, type SnapshotDataset } from '../catalogue/index.js'
import { packageRoot } from '../core/paths.js'

type Json = { data: Record<string, unknown>[]; timestamp: number }

export interface FixtureServerOptions {
  /** Folder of `<dataset>.json` for each snapshot dataset (`assets.json`, ...) and `history-<id>-<interval>.json`. */
  dir?: string
  /** Server time in ms, for each answer's `timestamp`. Default `Date.now`. */
  now?: () => number
  /**
   * Called before the fixtures answer; return true when it has answered the request itself (tests use it to
   * inject faults: 429s, 5xx, hangs, broken records).
   */
  intercept?: (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>
}

export interface FixtureServer {
  /** Base URL, e.g. `http://127.0.0.1:40123/v3`. */
  url: string
  /** Requests answered so far, by path with query. */
  requests: string[]
  close(): Promise<void>
}

function load(dir: string, name: string): Json | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, name), 'utf8')) as Json
  } catch {
    return undefined
  }
}

/** One page of `records` as `limit` and `offset` ask; all of them without `limit` (`/rates` is not paged). */
function page(records: Record<string, unknown>[], url: URL): Record<string, unknown>[] {
  const limit = url.searchParams.get('limit')
  const offset = Number(url.searchParams.get('offset') ?? 0)
  return limit === null ? records : records.slice(offset, offset + Number(limit))
}

type Filter = (record: Record<string, unknown>, query: URLSearchParams) => boolean

/** The query filters of a list, as CoinCap's: `ids=` of assets, the exchange and base asset of markets. */
const FILTERS: Partial<Record<SnapshotDataset, Filter>> = {
  assets: (a, query) => query.get('ids')?.split(',').includes(String(a.id)) ?? true,
  markets: (m, query) => {
    const exchangeId = query.get('exchangeId')
    const baseId = query.get('baseId')
    return (!exchangeId || m.exchangeId === exchangeId) && (!baseId || m.baseId === baseId)
  },
}

function send(res: ServerResponse, status: number, body: unknown): undefined {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startFixtureServer(options: FixtureServerOptions = {}): Promise<FixtureServer> {
  const dir = options.dir ?? join(packageRoot(), 'fixtures', 'coincap')
  const now = options.now ?? Date.now
  const requests: string[] = []
  // Each snapshot dataset's records, from `<dataset>.json`, served at its catalogue path.
  const fixtures = Object.fromEntries(SNAPSHOT_DATASETS.map((d) => [d, load(dir, `${d}.json`)?.data ?? []])) as Record<
    SnapshotDataset,
    Record<string, unknown>[]
  >
  const listAt = new Map(SNAPSHOT_DATASETS.map((d) => [`/${CATALOGUE[d].path}`, d]))

  const answer = (url: URL, res: ServerResponse): undefined => {
    const path = url.pathname.replace(/^\/v3/, '')
    const timestamp = now()
    const list = listAt.get(path)
    if (list) {
      const filter = FILTERS[list]
      const records = filter ? fixtures[list].filter((r) => filter(r, url.searchParams)) : fixtures[list]
      return send(res, 200, { data: page(records, url), timestamp })
    }
    const history = /^\/assets\/([^/]+)\/history$/.exec(path)
    if (history) {
      const id = decodeURIComponent(history[1]!)
      const interval = url.searchParams.get('interval') ?? ''
      const file = load(dir, `history-${id}-${interval}.json`)
      if (!file && !fixtures.assets.some((a) => a.id === id)) {
        return send(res, 404, { error: `${id} not found`, timestamp })
      }
      const start = Number(url.searchParams.get('start') ?? 0)
      const end = Number(url.searchParams.get('end') ?? Number.MAX_SAFE_INTEGER)
      const points = (file?.data ?? []).filter((p) => Number(p.time) >= start && Number(p.time) < end)
      return send(res, 200, { data: points, timestamp })
    }
    send(res, 404, { error: 'Not found', timestamp })
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    requests.push(`${url.pathname}${url.search}`)
    try {
      if (options.intercept && (await options.intercept(req, res, url))) return
      answer(url, res)
    } catch (error) {
      send(res, 500, { error: (error as Error).message })
    }
  }
  // An answer that cannot be sent (an interceptor already wrote the headers) ends that one connection.
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v3`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
