/**
 * The dashboard on the 17 M-row benchmark warehouse (warehouse-17m.ts) on the local server: the latency of its
 * data endpoints over HTTP, as the page asks them (median of warm requests, JSON and gzip included), and the
 * bytes a first load transfers (page, script, stylesheet and the first refresh's answers, gzipped).
 * Target: under 100 ms for latest and for a 30-day chart (and the other long ranges, thinned the same way). BENCH_KEEP=1 keeps the warehouse for the next run.
 */
import postgres from 'postgres'
import { resolveSettings } from '../src/config/settings.js'
import { createLogger } from '../src/core/log.js'
import { createReader, DEFAULT_READER_OPTIONS } from '../src/dashboard/reader.js'
import { startDashboardServer } from '../src/dashboard/server.js'
import { loadStaticFiles } from '../src/dashboard/static.js'
import { migrate } from '../src/warehouse/migrate.js'
import type { Warehouse } from '../src/warehouse/connection/connect.js'
import { toEtlError } from '../src/warehouse/connection/database-errors.js'
import { DATABASE_URL, medianMs } from './measure.js'
import type { BenchResult } from './types.js'
import { ASSETS, DAYS, generate } from './warehouse-17m.js'

const SCHEMA = 'bench_dashboard_17m'
const RUNS = 15
const TARGET_MS = 100

/** Makes the warehouse unless a kept one (BENCH_KEEP) of the full size is there; returns the seconds spent. */
async function prepare(sql: postgres.Sql): Promise<number> {
  const [kept] = await sql<{ rows: number }[]>`
    select coalesce(sum(c.reltuples), 0)::float8 as rows from pg_class c
    join pg_inherits i on i.inhrelid = c.oid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${SCHEMA} and c.relname like 'asset_snapshots_p%'`
  if (kept!.rows > 17e6) return 0
  await sql.unsafe(`drop schema if exists "${SCHEMA}" cascade`)
  const warehouse: Warehouse = { sql, kind: 'server', schema: SCHEMA, location: 'bench', close: async () => {} }
  await migrate(warehouse)
  await sql.unsafe(`set search_path to "${SCHEMA}"`)
  return generate(sql, SCHEMA, new Date(Math.floor(Date.now() / 300_000) * 300_000))
}

/** Median ms of GET `path` (after one warm-up), and the gzipped bytes of one answer. */
async function timed(origin: string, path: string): Promise<{ ms: number; bytes: number }> {
  const get = async () => {
    const response = await fetch(`${origin}${path}`, { headers: { 'accept-encoding': 'gzip' } })
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
    await response.arrayBuffer()
    return Number(response.headers.get('content-length'))
  }
  const bytes = await get()
  return { ms: await medianMs(RUNS, get), bytes }
}

export async function run(): Promise<BenchResult[]> {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} })
  const settings = resolveSettings({}, { DATABASE_URL, CRYPTO_ETL_SCHEMA: SCHEMA })
  const reader = createReader(settings, DEFAULT_READER_OPTIONS)
  try {
    const generateS = await prepare(sql)
    await sql.unsafe(`analyze "${SCHEMA}".asset_snapshots`)
    const server = await startDashboardServer({
      host: '127.0.0.1',
      port: 0,
      reader,
      context: { maxAgeMs: 900_000, refreshMs: 30_000 },
      files: loadStaticFiles(),
      logger: createLogger({ format: 'text', level: 'quiet' }),
      toError: (error) => toEtlError(error),
    })
    const origin = server.url.replace(/\/$/, '')
    try {
      const page = await Promise.all(['/', '/app.js', '/app.css', '/api/meta'].map((p) => timed(origin, p)))
      const latest = await timed(origin, '/api/latest?limit=25')
      const chart = await timed(origin, '/api/history?asset=asset-1&range=30d')
      const week = await timed(origin, '/api/history?asset=asset-1&range=7d')
      const all = await timed(origin, '/api/history?asset=asset-1&range=all')
      const day = await timed(origin, '/api/history?asset=asset-1&range=24h')
      const movers = await timed(origin, '/api/movers?range=24h')
      const exchanges = await timed(origin, '/api/exchanges')
      const status = await timed(origin, '/api/status')
      const firstLoad = [...page, latest, day, movers, exchanges, status].reduce((sum, r) => sum + r.bytes, 0)
      const longest = Math.max(chart.ms, week.ms, all.ms)
      const met = latest.ms < TARGET_MS && longest < TARGET_MS
      return [
        {
          name: `dashboard endpoints on ${ASSETS} assets × ${DAYS} d × 5 min (17.28 M snapshots, server)`,
          metrics: {
            'latest (25) ms': latest.ms,
            '30-day chart ms': chart.ms,
            '30-day chart KiB gzipped': Math.round(chart.bytes / 1024),
            '7-day chart ms': week.ms,
            'all-time chart ms': all.ms,
            '24 h chart ms': day.ms,
            'movers 24 h ms': movers.ms,
            'status ms': status.ms,
            'generate s': generateS,
          },
          verdict: `latest ${latest.ms} ms and the slowest long chart ${longest} ms ${met ? '<' : 'not both <'} ${TARGET_MS} ms: ${met ? 'met' : 'NOT met'}`,
        },
        {
          name: 'dashboard first load (page, script, styles, first refresh), gzipped',
          metrics: {
            'KiB total': Math.round(firstLoad / 1024),
            'page+script+styles KiB': Math.round((page[0]!.bytes + page[1]!.bytes + page[2]!.bytes) / 1024),
          },
          verdict: 'no target (reported)',
        },
      ]
    } finally {
      await server.close()
    }
  } finally {
    await reader.close()
    if (!process.env.BENCH_KEEP) await sql.unsafe(`drop schema if exists "${SCHEMA}" cascade`).catch(() => {})
    await sql.end()
  }
}
