/**
 * What the benchmarks measure with: the server they use, a fresh embedded database, the wall time and peak
 * memory of a process, the median of repeated timings.
 */
import { cp } from 'node:fs/promises'
import { join } from 'node:path'
import { startEmbedded } from '../src/warehouse/embedded/embedded.js'
import { runProcess } from '../test/helpers/cli.js'
import { TEST_DATABASE_URL } from '../test/helpers/env.js'

/** The Postgres server of the benchmarks: BENCH_DATABASE_URL, else the tests' server. */
export const DATABASE_URL = process.env.BENCH_DATABASE_URL || TEST_DATABASE_URL

/** The middle value (the upper one of an even count). */
export function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
}

/** Runs `fn` once and says how long it took, in ms. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const value = await fn()
  return [value, performance.now() - started]
}

/** The median time of `runs` runs of `fn`, in ms to a tenth (warm it up first if its first run differs). */
export async function medianMs(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) times.push((await timed(fn))[1])
  return Math.round(median(times) * 10) / 10
}

export interface Measured {
  ms: number
  /** Peak resident memory (`/usr/bin/time -f %M`). */
  peakKiB: number
  stdout: string
  stderr: string
}

/**
 * Runs `command args` to its end under `/usr/bin/time` (asynchronously: servers the benchmark starts answer
 * from this process) and measures its wall time and peak memory; throws when it fails.
 */
export async function measure(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Measured> {
  const r = await runProcess('/usr/bin/time', ['-f', '%M', command, ...args], { env })
  if (r.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  // time writes its line after everything the command wrote.
  const lines = r.stderr.trimEnd().split('\n')
  return { ms: r.ms, peakKiB: Number(lines.at(-1)), stdout: r.stdout, stderr: lines.slice(0, -1).join('\n') }
}

/** Runs `crypto-etl <args>` (the built CLI) under {@link measure}. */
export function measureCli(args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  return measure(process.execPath, ['bin/run.js', ...args], env)
}

/** A fresh embedded data directory at `<dir>/<name>`: a copy of one made (initdb) at `<dir>/template`. */
export async function freshEmbedded(dir: string, name: string): Promise<string> {
  const template = join(dir, 'template')
  await (await startEmbedded(template)).stop()
  const copy = join(dir, name)
  await cp(template, copy, { recursive: true })
  return copy
}
