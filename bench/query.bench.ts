/**
 * `query latest` on 30 days of five-minute snapshots of 2,000 assets (17.28 M rows) on the local
 * server: the median of warm runs of the pipeline function, and the plan of the statement it sends,
 * which must read an index rather than scan. Target: under 300 ms.
 */
import postgres from 'postgres'
import { runQuery } from '../src/pipeline/query.js'
import { getStatus } from '../src/pipeline/status.js'
import type { Warehouse } from '../src/warehouse/connection/connect.js'
import { migrate } from '../src/warehouse/migrate.js'
import { DATABASE_URL, medianMs } from './measure.js'
import type { BenchResult } from './types.js'
import { ASSETS, DAYS, generate } from './warehouse-17m.js'

const RUNS = 15
const TARGET_MS = 300

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Actual Loops'?: number
  Plans?: PlanNode[]
}

function walk(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(node)
  for (const child of node.Plans ?? []) walk(child, out)
  return out
}

/** The median of `RUNS` warm runs of `fn` (after one to warm up), in ms. */
async function warmMedian(fn: () => Promise<unknown>): Promise<number> {
  await fn()
  return medianMs(RUNS, fn)
}

export async function run(): Promise<BenchResult[]> {
  const schema = `bench_query_${Math.random().toString(36).slice(2, 8)}`
  const statements: { text: string; params: unknown[] }[] = []
  let capture = false
  const sql = postgres(DATABASE_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema },
    debug: (_conn, text, params) => {
      if (capture) statements.push({ text, params: params as unknown[] })
    },
  })
  const warehouse: Warehouse = { sql, kind: 'server', schema, location: 'bench', close: () => sql.end() }
  try {
    await migrate(warehouse)
    const end = new Date(Math.floor(Date.now() / 300_000) * 300_000)
    const generateS = await generate(sql, schema, end)
    const [count] = await sql<{ n: number }[]>`select count(*)::float8 as n from asset_snapshots`
    const now = new Date(end.getTime() + 60_000)

    const latestMs = await warmMedian(() => runQuery(warehouse, { report: 'latest', now }))
    const allMs = await warmMedian(() => runQuery(warehouse, { report: 'latest', limit: ASSETS, now }))
    const eurMs = await warmMedian(() => runQuery(warehouse, { report: 'latest', currency: 'EUR', now }))
    const symbolMs = await warmMedian(() => runQuery(warehouse, { report: 'latest', symbols: ['S1', 'S2'], now }))
    const moversMs = await warmMedian(() => runQuery(warehouse, { report: 'movers', now }))
    const statusMs = await warmMedian(() => getStatus(warehouse, { now, maxAgeMs: 900_000 }))

    // The plan of each statement `query latest` sends: the newest observed_at, then that observation.
    capture = true
    await runQuery(warehouse, { report: 'latest', now })
    capture = false
    const nodes: PlanNode[] = []
    for (const s of statements) {
      const [row] = await sql.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `explain (analyze, format json) ${s.text}`,
        s.params as never[],
      )
      nodes.push(...walk(row!['QUERY PLAN'][0].Plan))
    }
    // Partitions the plan lists but never opens (Actual Loops 0) cost nothing: count those executed.
    const scans = nodes.filter((n) => n['Relation Name']?.startsWith('asset_snapshots') && n['Actual Loops'])
    const seqScans = scans.filter((n) => n['Node Type'] === 'Seq Scan').length
    const indexScans = scans.filter((n) => n['Node Type'].startsWith('Index')).length
    const partitions = new Set(scans.map((n) => n['Relation Name'])).size
    for (const s of statements) {
      const plan = await sql.unsafe<{ 'QUERY PLAN': string }[]>(
        `explain (analyze, costs off) ${s.text}`,
        s.params as never[],
      )
      process.stderr.write(`${s.text.replace(/\s+/g, ' ')}\n${plan.map((r) => r['QUERY PLAN']).join('\n')}\n`)
    }
    const met = latestMs < TARGET_MS && seqScans === 0 && indexScans > 0
    return [
      {
        name: `query latest on ${(count!.n / 1e6).toFixed(2)} M asset snapshots (${ASSETS} assets × ${DAYS} d × 5 min)`,
        metrics: {
          'median ms': latestMs,
          'all 2000 rows ms': allMs,
          '--currency EUR ms': eurMs,
          '--symbol (2) ms': symbolMs,
          'index scans': indexScans,
          'seq scans': seqScans,
          'partitions opened': partitions,
          'generate s': generateS,
        },
        verdict: `${latestMs} ms ${latestMs < TARGET_MS ? '<' : '>='} ${TARGET_MS} ms, ${seqScans === 0 ? 'index only, no scan' : `${seqScans} seq scan(s)`}: ${met ? 'met' : 'NOT met'}`,
      },
      {
        name: 'query movers (24 h) and status on the same 17 M rows',
        metrics: { 'movers median ms': moversMs, 'status median ms': statusMs },
        verdict: 'no target (informational)',
      },
    ]
  } finally {
    await sql.unsafe(`drop schema if exists "${schema}" cascade`).catch(() => {})
    await sql.end()
  }
}
