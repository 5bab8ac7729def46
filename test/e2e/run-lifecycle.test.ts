/**
 * Runs are never left `running`: SIGHUP stops a run like SIGTERM, a run killed outright (SIGKILL) is marked
 * `abandoned` by the next one, a forced exit after the signal grace records the run interrupted, and a
 * Ctrl-C on `extract | load -` never records a load `ok`.
 */
import type { ChildProcess } from 'node:child_process'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli, startCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'

const API_KEY = 'e2e-lifecycle-key-8830'
const scratch = new Scratch()
afterAll(() => scratch.cleanup())

/** A warehouse and a CoinCap-like server whose `/v3/rates` hangs until `release()` (a run in progress). */
async function prepare(target: Target) {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  const server = await scratch.coincap({
    intercept: async (_req, _res, url) => {
      if (url.pathname === '/v3/rates') await held
      return false
    },
  })
  // Cleanup runs newest first: a request still held is let go before the server closes.
  scratch.onCleanup(async () => release())
  const t = await scratch.warehouse(target, `life_${target}`, {
    COINCAP_API_URL: server.url,
    COINCAP_API_KEY: API_KEY,
    CRYPTO_ETL_API_RETRIES: '0',
  })
  const runs = () =>
    t.query<{ run_id: number; command: string; status: string; error: string | null }>(
      'select run_id::int, command, status, error from etl_runs order by run_id',
    )
  return { ...t, server, release, runs }
}

/** Resolves once the server was asked for `path`. */
async function asked(server: { requests: string[] }, path: string): Promise<void> {
  while (!server.requests.some((p) => p.startsWith(path))) await new Promise((r) => setTimeout(r, 50))
}

/** Resolves once the child wrote `text` on stderr. */
function stderrSays(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve) => {
    let seen = ''
    child.stderr?.on('data', (d: Buffer | string) => {
      seen += String(d)
      if (seen.includes(text)) resolve()
    })
  })
}

describe.each(TARGETS)('run lifecycle on the %s database', (target) => {
  it('stops on SIGHUP like SIGTERM: exit 129, the run recorded interrupted', async () => {
    const t = await prepare(target)
    const r = await runCli(['run', '--verbose'], {
      env: t.env,
      onSpawn: (child) => void asked(t.server, '/v3/rates').then(() => child.kill('SIGHUP')),
    })
    expect(r.code).toBe(129)
    expect(r.stderr).toContain('SIGHUP received: stopping')
    expect((await t.runs()).map((run) => [run.status, run.error])).toEqual([['interrupted', 'Interrupted by SIGHUP.']])
  })

  it('marks a run killed with SIGKILL abandoned on the next run, which runs', async () => {
    const t = await prepare(target)
    let pid = 0
    const killed = await runCli(['run', '--verbose'], {
      env: t.env,
      onSpawn: (child) => {
        pid = child.pid!
        void asked(t.server, '/v3/rates').then(() => child.kill('SIGKILL'))
      },
    })
    expect(killed.signal).toBe('SIGKILL')
    expect((await t.runs()).map((run) => run.status)).toEqual(['running'])
    t.release()
    // The embedded data directory's lock of the killed process goes stale after 10 s.
    if (target === 'embedded') await new Promise((r) => setTimeout(r, 11_000))
    const next = await runCli(['run'], { env: t.env })
    expect(next.code, next.stderr).toBe(0)
    const [first, second] = await t.runs()
    expect(first?.status).toBe('abandoned')
    expect(first?.error).toMatch(
      new RegExp(
        `^abandoned: pid ${pid} on host \\S+ ended without recording an outcome \\(found by run ${second?.run_id}\\)$`,
      ),
    )
    expect(second?.status).toBe('ok')
  })

  it('never records an ok load when Ctrl-C stops extract | load -', async () => {
    const t = await prepare(target)
    // extract piped into load, as a shell runs it; a Ctrl-C signals both at once.
    const { child: extract } = startCli(['extract'], { env: t.env })
    const { child: load, done: loaded } = startCli(['load', '-', '--verbose'], { env: t.env, holdStdin: true })
    extract.stdout!.pipe(load.stdin!)
    await Promise.all([stderrSays(load, 'load started'), asked(t.server, '/v3/rates')])
    // extract has written the assets and exchanges and waits for /rates; load has read them.
    await new Promise((r) => setTimeout(r, 500))
    extract.kill('SIGINT')
    load.kill('SIGINT')
    expect((await loaded).code).toBe(130)
    expect((await t.runs()).map((run) => [run.command, run.status])).toEqual([['load', 'interrupted']])
    const [row] = await t.query<{ n: number }>('select count(*)::int as n from asset_snapshots')
    expect(row?.n).toBe(0)
  })
})

describe('run lifecycle on the server database, forced exit', () => {
  // Once the lock wait outlasted the grace period and the run was forced to exit; now the signal cancels it.
  it('records the run interrupted at once when SIGTERM comes while it waits on a lock', async () => {
    const t = await prepare('server')
    t.release()
    await runCli(['migrate'], { env: t.env })
    // A table held by another session: the run's load waits on it until the signal cancels the wait.
    const blocker = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} })
    scratch.onCleanup(() => blocker.end())
    let unblock: () => void = () => {}
    const blocking = blocker.begin(async (tx) => {
      await tx.unsafe(`lock table "${t.schema}".asset_snapshots in access exclusive mode`)
      await new Promise<void>((resolve) => {
        unblock = resolve
      })
    })
    await new Promise((r) => setTimeout(r, 200))
    try {
      const r = await runCli(['run', '--datasets', 'assets', '--verbose'], {
        env: t.env,
        onSpawn: (child) => {
          void asked(t.server, '/v3/assets').then(() => setTimeout(() => child.kill('SIGTERM'), 1000))
        },
      })
      expect(r.code).toBe(143)
      const runs = await t.runs()
      expect(runs.map((run) => [run.status, run.error])).toEqual([['interrupted', 'Interrupted by SIGTERM.']])
    } finally {
      unblock()
      await blocking
    }
  })
})
