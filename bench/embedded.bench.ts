/**
 * Embedded database benchmark (issue: foundation): time and peak memory of `crypto-etl migrate` creating the
 * embedded warehouse in a fresh data directory, and of reopening it (a second `migrate`, a no-op).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BenchResult } from './types.js'

function timed(env: NodeJS.ProcessEnv): { s: number; peakMiB: number } {
  const started = performance.now()
  const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, 'bin/run.js', 'migrate'], {
    env,
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`migrate failed: ${r.stderr}`)
  const s = (performance.now() - started) / 1000
  return { s: Number(s.toFixed(2)), peakMiB: Math.round(Number(r.stderr.trim().split('\n').at(-1)) / 1024) }
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-bench-embedded-'))
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, CRYPTO_ETL_DATA_DIR: join(dir, 'data') }
    delete env.DATABASE_URL
    delete env.PGHOST
    const create = timed(env)
    const reopen = [timed(env), timed(env), timed(env)].sort((a, b) => a.s - b.s)[1]!
    return [
      {
        name: 'embedded database: create + migrate',
        metrics: { s: create.s, 'peak MiB': create.peakMiB },
        verdict: 'no target; first use only',
      },
      {
        name: 'embedded database: reopen (migrate no-op)',
        metrics: { 'median s': reopen.s, 'peak MiB': reopen.peakMiB },
        verdict: 'no target',
      },
    ]
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
