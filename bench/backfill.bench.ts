/**
 * Backfill benchmark (issue 5): the built CLI against a local server generating history, on the Postgres
 * server and the embedded database. Measures history requests, estimated credits, rows/s and the peak
 * resident memory of the process (`/usr/bin/time -f %M`), then the repeat (which must ask for nothing),
 * and the peak memory of a range 12 times longer (which must stay flat). The client's real limiter (500
 * requests a minute, 4 at a time) applies: every scenario stays under 500 requests.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { startHistoryServer } from '../test/helpers/history-server.js'
import { DATABASE_URL, freshEmbedded, measureCli } from './measure.js'
import type { BenchResult } from './types.js'

/** The old-space limit the long range must run within, to show memory does not grow with the range. */
const HEAP_CAP_MIB = 48

interface Backfilled {
  rows: number
  historyRequests: number
  credits: number
  seconds: number
  rowsPerSecond: number
  peakMiB: number
}

/** Runs `crypto-etl backfill <args> --json` under /usr/bin/time and reads its summary and peak RSS. */
async function backfill(args: string[], env: NodeJS.ProcessEnv): Promise<Backfilled> {
  const { ms, peakKiB, stdout } = await measureCli(['backfill', ...args, '--json'], env)
  const seconds = ms / 1000
  const result = JSON.parse(stdout)
  return {
    rows: result.rows,
    historyRequests: result.api.historyRequests,
    credits: result.api.credits,
    seconds: Number(seconds.toFixed(2)),
    rowsPerSecond: Math.round(result.rows / seconds),
    peakMiB: Math.round(peakKiB / 1024),
  }
}

function metrics(m: Backfilled, repeat: Backfilled): BenchResult['metrics'] {
  return {
    rows: m.rows,
    'history requests': m.historyRequests,
    'est. credits': m.credits,
    's (wall, start-up incl.)': m.seconds,
    'rows/s (wall)': m.rowsPerSecond,
    'peak MiB': m.peakMiB,
    'repeat: history requests': repeat.historyRequests,
    'repeat: credits': repeat.credits,
  }
}

export async function run(): Promise<BenchResult[]> {
  const server = await startHistoryServer()
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-bench-backfill-'))
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} })
  const schemas = ['a', 'b', 'c', 'd'].map((s) => `bench_backfill_${s}_${process.pid}`)
  const base = { ...process.env, COINCAP_API_URL: server.url, COINCAP_API_KEY: 'bench' }
  const onServer = (schema: string) => ({ ...base, DATABASE_URL, CRYPTO_ETL_SCHEMA: schema })
  const h1 = ['--assets', 'bitcoin,ethereum', '--interval', 'h1', '--from', '2025-01-01', '--to', '2025-04-01']
  const m5 = (days: number) => [
    '--assets',
    'bitcoin',
    '--interval',
    'm5',
    '--from',
    new Date(Date.parse('2025-01-01') - days * 86_400_000).toISOString().slice(0, 10),
    '--to',
    '2025-01-01',
  ]
  try {
    const serverH1 = await backfill(h1, onServer(schemas[0]!))
    const serverH1Again = await backfill(h1, onServer(schemas[0]!))

    const embeddedDir = await freshEmbedded(dir, 'embedded')
    const onEmbedded = { ...base, CRYPTO_ETL_DATA_DIR: embeddedDir }
    const embeddedH1 = await backfill(h1, onEmbedded)
    const embeddedH1Again = await backfill(h1, onEmbedded)

    const month = await backfill(m5(30), onServer(schemas[1]!))
    const year = await backfill(m5(365), onServer(schemas[2]!))
    const yearAgain = await backfill(m5(365), onServer(schemas[2]!))
    // V8 grows its heap lazily, so peak RSS grows with the work done; a capped heap shows what is retained.
    const capped = { ...onServer(schemas[3]!), NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MIB}` }
    const yearCapped = await backfill(m5(365), capped)
    const flat = yearCapped.peakMiB <= month.peakMiB * 1.25
    const verdict = (m: Backfilled, again: Backfilled, expected: number) =>
      `every point once (${m.rows} = ${expected}: ${m.rows === expected ? 'met' : 'NOT met'}); ` +
      `repeat asks nothing (${again.historyRequests} requests: ${again.historyRequests === 0 ? 'met' : 'NOT met'})`
    return [
      {
        name: 'backfill 90 days of h1 for 2 assets (server)',
        metrics: metrics(serverH1, serverH1Again),
        verdict: verdict(serverH1, serverH1Again, 2 * 90 * 24),
      },
      {
        name: 'backfill 90 days of h1 for 2 assets (embedded)',
        metrics: metrics(embeddedH1, embeddedH1Again),
        verdict: verdict(embeddedH1, embeddedH1Again, 2 * 90 * 24),
      },
      {
        name: 'backfill 365 days of m5 for 1 asset (server)',
        metrics: {
          ...metrics(year, yearAgain),
          'peak MiB of 30 days': month.peakMiB,
          [`peak MiB of 365 days, heap capped at ${HEAP_CAP_MIB} MiB`]: yearCapped.peakMiB,
        },
        verdict:
          `${verdict(year, yearAgain, 365 * 288)}; memory flat (365 days run in a ${HEAP_CAP_MIB} MiB heap, ` +
          `peak ${yearCapped.peakMiB} MiB vs ${month.peakMiB} MiB for 30 days): ${flat ? 'met' : 'NOT met'}`,
      },
    ]
  } finally {
    for (const schema of schemas) await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
    await server.close()
    await rm(dir, { recursive: true, force: true })
  }
}
