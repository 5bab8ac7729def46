/**
 * `npm run bench`: runs every benchmark (or those named on the command line) one after the other, prints
 * each result, and writes them with the machine and versions to docs/benchmarks.md.
 */
import { execSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import type { Bench, BenchResult } from './types.js'

const here = import.meta.dirname
const names = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => names.length === 0 || names.some((n) => f.startsWith(n)))
  .sort()

const results: BenchResult[] = []
for (const file of files) {
  const mod = (await import(join(here, file))) as { run: Bench }
  process.stderr.write(`bench ${file} ...\n`)
  const out = await mod.run()
  for (const r of Array.isArray(out) ? out : [out]) {
    results.push(r)
    process.stdout.write(`${r.name}: ${JSON.stringify(r.metrics)} — ${r.verdict}\n`)
  }
}

function version(cmd: string): string {
  try {
    return execSync(cmd, { encoding: 'utf8' }).trim().split('\n')[0] ?? '?'
  } catch {
    return 'not found'
  }
}

const pkg = (name: string) =>
  JSON.parse(readFileSync(join(here, '..', 'node_modules', name, 'package.json'), 'utf8')).version as string
const lines = [
  '# Benchmarks',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}.`,
  '',
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; ` +
    `${version('psql --version')}; postgres.js ${pkg('postgres')}; PGlite ${pkg('@electric-sql/pglite')}.`,
  '',
  '| benchmark | measured | target |',
  '|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.name} | ${Object.entries(r.metrics)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')} | ${r.verdict} |`,
  ),
  '',
]
if (names.length === 0) writeFileSync(join(here, '..', 'docs', 'benchmarks.md'), lines.join('\n'))
else process.stdout.write(lines.join('\n'))
