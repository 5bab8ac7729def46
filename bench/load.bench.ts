/**
 * Load benchmark (issue: extract, load and run): 1,000,000 history rows from a landing file, loaded by
 * `crypto-etl load` into the warehouse, against `psql \copy` of the same rows into a plain table with the
 * same primary key, side by side in one run (five alternating rounds, medians compared). Also the peak
 * memory of the load and its re-load (a no-op).
 */
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { DATABASE_URL, type Measured, measure, measureCli, median } from './measure.js'
import type { BenchResult } from './types.js'

const ASSETS = 1000
const POINTS = 1000
const START = Date.UTC(2025, 0, 1)
const HOUR = 3_600_000

function price(a: number, p: number): string {
  return `${(a + 1) * 10 + (p % 97)}.${String((a * 7919 + p * 104_729) % 1_000_000_000_000_000).padStart(18, '0')}`
}

async function writeFiles(dir: string): Promise<{ landing: string; csv: string }> {
  const landing = join(dir, 'history.ndjson')
  const csv = join(dir, 'history.csv')
  const l = createWriteStream(landing)
  const c = createWriteStream(csv)
  const write = (s: ReturnType<typeof createWriteStream>, text: string) =>
    s.write(text) ? Promise.resolve() : new Promise<void>((r) => s.once('drain', () => r()))
  for (let a = 0; a < ASSETS; a++) {
    const id = `asset-${a}`
    const data = []
    let rows = ''
    for (let p = 0; p < POINTS; p++) {
      const time = START + p * HOUR
      const iso = new Date(time).toISOString()
      data.push({ priceUsd: price(a, p), time, date: iso })
      rows += `${id},h1,${iso},${price(a, p)},,\n`
    }
    await write(
      l,
      `${JSON.stringify({ dataset: 'history', asset: id, interval: 'h1', timestamp: START + POINTS * HOUR, data })}\n`,
    )
    await write(c, rows)
  }
  await Promise.all([new Promise((r) => l.end(r)), new Promise((r) => c.end(r))])
  return { landing, csv }
}

const ROUNDS = 5

/** The run of median time. */
function medianRun(runs: Measured[]): Measured {
  const ms = median(runs.map((r) => r.ms))
  return runs.find((r) => r.ms === ms)!
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-bench-load-'))
  const schema = `bench_load_${process.pid}`
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    const { landing, csv } = await writeFiles(dir)
    const rows = ASSETS * POINTS
    await sql.unsafe(`drop schema if exists "${schema}" cascade; create schema "${schema}";
      create table "${schema}".plain_copy (asset_id text, interval text, ts timestamptz, price_usd numeric,
        circulating_supply numeric, run_id bigint, primary key (asset_id, interval, ts))`)
    const env = { ...process.env, DATABASE_URL, CRYPTO_ETL_SCHEMA: schema }
    // Migrate first, so the load's time is the load's.
    await measureCli(['migrate'], env)
    // Rounds alternate the two sides into emptied tables, each after a checkpoint so neither pays for the
    // other's dirty pages; the medians are compared (a single pair swings from 0.5 to 0.7 on a shared VM).
    const copies: Measured[] = []
    const loads: Measured[] = []
    for (let round = 0; round < ROUNDS; round++) {
      await sql.unsafe(`truncate "${schema}".plain_copy, "${schema}".asset_history; checkpoint`)
      copies.push(
        await measure('psql', [DATABASE_URL, '-qc', `\\copy "${schema}".plain_copy from '${csv}' with (format csv)`]),
      )
      await sql.unsafe('checkpoint')
      loads.push(await measureCli(['load', landing], env))
    }
    const copy = medianRun(copies)
    const load = medianRun(loads)
    const reload = await measureCli(['load', landing], env)
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(schema)}.asset_history`
    if (count?.n !== rows) throw new Error(`expected ${rows} rows, found ${count?.n}`)
    const ratios = loads.map((l, i) => copies[i]!.ms / l.ms)
    const copyRate = rows / (copy.ms / 1000)
    const loadRate = rows / (load.ms / 1000)
    const ratio = loadRate / copyRate
    const peakMiB = Math.round(Math.max(...loads.map((l) => l.peakKiB)) / 1024)
    return [
      {
        name: 'load 1M history rows (server)',
        metrics: {
          'psql \\copy rows/s': Math.round(copyRate),
          'load rows/s': Math.round(loadRate),
          ratio: Number(ratio.toFixed(2)),
          'ratio per round': ratios.map((r) => r.toFixed(2)).join(' '),
          'peak MiB': peakMiB,
          're-load s': Number((reload.ms / 1000).toFixed(1)),
        },
        verdict: `ratio ${ratio.toFixed(2)} ${ratio >= 0.6 ? '>=' : '<'} 0.6, peak ${peakMiB} MiB ${peakMiB < 200 ? '<' : '>='} 200: ${ratio >= 0.6 && peakMiB < 200 ? 'met' : 'NOT met'}`,
      },
    ]
  } finally {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
    await rm(dir, { recursive: true, force: true })
  }
}
