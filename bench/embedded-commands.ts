/**
 * The embedded database's everyday commands (`query`, `status`, a cron-sized `run --demo`) as a user runs
 * them: cold (no resident process: the command starts one), warm (the resident up), and opened in-process
 * (`CRYPTO_ETL_EMBEDDED_IDLE=0`), each against the same command on the local server in the same run; and
 * `--version` from this checkout against an installed copy of the package.
 */
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { isAlive, readResidentInfo } from '../src/warehouse/embedded/resident-info.js'
import { DATABASE_URL, freshEmbedded, measure, measureCli, median } from './measure.js'
import type { BenchResult } from './types.js'

const RUNS = 5
/** The demo's made-up prices are refused on a server unless asked for (the scratch schema is dropped after). */
const ALLOW_DEMO = '--allow-demo'

/** The targets: wall seconds and the command's peak MiB. */
const TARGETS: Record<string, { s: number; mib: number }> = {
  query: { s: 1.0, mib: 250 },
  status: { s: 1.0, mib: 250 },
  'run --demo': { s: 1.2, mib: 300 },
}

interface Sample {
  s: number
  mib: number
}

async function sample(args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const { ms, peakKiB } = await measureCli(args, env)
  return { s: ms / 1000, mib: peakKiB / 1024 }
}

/** The medians of `RUNS` samples, `before` each (not timed). */
async function medians(args: string[], env: NodeJS.ProcessEnv, before?: () => Promise<void>): Promise<Sample> {
  const samples: Sample[] = []
  for (let i = 0; i < RUNS; i++) {
    await before?.()
    samples.push(await sample(args, env))
  }
  return { s: median(samples.map((x) => x.s)), mib: median(samples.map((x) => x.mib)) }
}

async function stopResident(dataDir: string): Promise<void> {
  const info = readResidentInfo(dataDir)
  if (!info || !isAlive(info.pid)) return
  process.kill(info.pid, 'SIGTERM')
  while (isAlive(info.pid)) await delay(20)
}

/** The resident's resident set now and at its peak, in MiB (Linux /proc). */
async function residentMemory(dataDir: string): Promise<{ rss: number; peak: number } | undefined> {
  const info = readResidentInfo(dataDir)
  if (!info) return undefined
  const status = await readFile(`/proc/${info.pid}/status`, 'utf8').catch(() => '')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN)
  return { rss: Math.round(kib('VmRSS') / 1024), peak: Math.round(kib('VmHWM') / 1024) }
}

const f2 = (n: number) => Number(n.toFixed(2))

function verdict(command: string, x: Sample, server: Sample): string {
  const target = TARGETS[command]!
  const met = x.s < target.s && x.mib < target.mib
  return `${f2(x.s / server.s)} × the server; target < ${target.s} s and < ${target.mib} MiB: ${met ? 'met' : 'NOT met'}`
}

/** An installed copy of this package (what `npm install` lays out, its dependencies linked): for `--version`. */
async function installedCopy(dir: string): Promise<string> {
  const root = join(dir, 'installed', 'node_modules', 'crypto-etl')
  await mkdir(root, { recursive: true })
  for (const part of ['bin', 'dist', 'sql', 'package.json', 'oclif.manifest.json']) {
    await cp(part, join(root, part), { recursive: true })
  }
  await symlink(resolve('node_modules'), join(root, 'node_modules'))
  return root
}

export async function commandRows(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-bench-commands-'))
  const schema = `bench_commands_${process.pid}`
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} })
  const base: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: join(dir, 'config') }
  for (const key of ['DATABASE_URL', 'PGHOST', 'PGUSER', 'PGDATABASE', 'CRYPTO_ETL_EMBEDDED_IDLE']) delete base[key]
  const dataDir = await freshEmbedded(dir, 'data')
  const embedded = { ...base, CRYPTO_ETL_DATA_DIR: dataDir }
  const inProcess = { ...embedded, CRYPTO_ETL_EMBEDDED_IDLE: '0' }
  const server = { ...base, DATABASE_URL, CRYPTO_ETL_SCHEMA: schema }
  try {
    await measureCli(['run', '--demo'], inProcess)
    await measureCli(['run', '--demo', ALLOW_DEMO], server)
    const rows: BenchResult[] = []
    for (const command of Object.keys(TARGETS)) {
      const args = command.split(' ')
      const onServer = await medians(args[0] === 'run' ? [...args, ALLOW_DEMO] : args, server)
      // The resident of the previous command holds the data directory: a command opening it itself would wait.
      const opened = await medians(args, inProcess, () => stopResident(dataDir))
      const cold = await medians(args, embedded, () => stopResident(dataDir))
      const warm = await medians(args, embedded)
      const resident = await residentMemory(dataDir)
      const metrics = (x: Sample) => ({ 'median s': f2(x.s), 'peak MiB': Math.round(x.mib), runs: RUNS })
      rows.push(
        {
          name: `embedded \`${command}\`, in-process (IDLE=0)`,
          metrics: metrics(opened),
          verdict: verdict(command, opened, onServer),
        },
        {
          name: `embedded \`${command}\`, cold (starts the resident)`,
          metrics: metrics(cold),
          verdict: verdict(command, cold, onServer),
        },
        {
          name: `embedded \`${command}\`, warm (resident up)`,
          metrics: {
            ...metrics(warm),
            ...(resident ? { 'resident RSS MiB': resident.rss, 'resident peak MiB': resident.peak } : {}),
          },
          verdict: verdict(command, warm, onServer),
        },
        {
          name: `server \`${command}\` (same run)`,
          metrics: metrics(onServer),
          verdict: 'the reference of the ratios',
        },
      )
    }
    const installed = await installedCopy(dir)
    const checkout = await medians(['--version'], base)
    const times: number[] = []
    for (let i = 0; i < RUNS; i++)
      times.push((await measure(process.execPath, [join(installed, 'bin', 'run.js'), '--version'], base)).ms / 1000)
    const asInstalled = median(times)
    rows.push({
      name: '`--version` from the checkout vs installed',
      metrics: { 'checkout median s': f2(checkout.s), 'installed median s': f2(asInstalled), runs: RUNS },
      verdict: `${f2(checkout.s / asInstalled)} × installed: ${checkout.s <= asInstalled * 1.15 ? 'met (as quick)' : 'NOT met'}`,
    })
    return rows
  } finally {
    await stopResident(dataDir)
    await sql.unsafe(`drop schema if exists "${schema}" cascade`)
    await sql.end()
    await rm(dir, { recursive: true, force: true })
  }
}
