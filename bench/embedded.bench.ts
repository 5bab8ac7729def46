/**
 * Embedded database benchmark (issue: foundation): time and peak memory of `crypto-etl migrate` creating the
 * embedded warehouse in a fresh data directory, as installed (from the seed that `npm pack` ships) and by
 * PGlite's own initdb (a checkout), and of reopening it (a second `migrate`, a no-op); and the everyday
 * commands with and without the resident process (embedded-commands.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { seedPath, writeSeed } from '../src/warehouse/embedded/embedded-seed.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commandRows } from './embedded-commands.js'
import { measureCli } from './measure.js'
import type { BenchResult } from './types.js'

async function timed(env: NodeJS.ProcessEnv): Promise<{ s: number; peakMiB: number }> {
  const { ms, peakKiB } = await measureCli(['migrate'], env)
  return { s: Number((ms / 1000).toFixed(2)), peakMiB: Math.round(peakKiB / 1024) }
}

export async function run(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-bench-embedded-'))
  try {
    // Each `migrate` opens the database itself, as before the resident: this row is about opening it.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CRYPTO_ETL_DATA_DIR: join(dir, 'data'),
      CRYPTO_ETL_EMBEDDED_IDLE: '0',
    }
    delete env.DATABASE_URL
    delete env.PGHOST
    // As installed: `npm pack` writes the seed into dist/ (removed again below).
    await writeSeed()
    const create = await timed(env)
    const reopen = [await timed(env), await timed(env), await timed(env)].sort((a, b) => a.s - b.s)[1]!
    await rm(seedPath())
    const initdb = await timed({ ...env, CRYPTO_ETL_DATA_DIR: join(dir, 'initdb') })
    return [
      ...(await commandRows()),
      {
        name: 'embedded database: create + migrate, from the shipped seed',
        metrics: { s: create.s, 'peak MiB': create.peakMiB },
        verdict: 'no target; first use only',
      },
      {
        name: 'embedded database: create + migrate, by initdb (no seed: a checkout)',
        metrics: { s: initdb.s, 'peak MiB': initdb.peakMiB },
        verdict: `the seed saves ${Math.round((1 - create.s / initdb.s) * 100)} % of the time and ${Math.round((1 - create.peakMiB / initdb.peakMiB) * 100)} % of the memory`,
      },
      {
        name: 'embedded database: reopen (migrate no-op)',
        metrics: { 'median s': reopen.s, 'peak MiB': reopen.peakMiB },
        verdict: 'no target',
      },
    ]
  } finally {
    await rm(seedPath(), { force: true })
    await rm(dir, { recursive: true, force: true })
  }
}
