/**
 * The resident process between commands on the embedded database (the default), with the built CLI: a
 * warm command answers as a cold one did, commands take turns, a client or resident killed by SIGKILL costs
 * nothing committed and blocks nothing for long, a command that opened the database itself
 * (CRYPTO_ETL_EMBEDDED_IDLE=0) is waited for as before, and a resident of another version is replaced.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { startEmbedded } from '../../src/warehouse/embedded/embedded.js'
import { residentInfoPath } from '../../src/warehouse/embedded/resident-info.js'
import { runCli, startCli } from '../helpers/cli.js'
import { isAlive, readResidentInfo, waitForExit } from '../helpers/resident.js'
import { Scratch } from '../helpers/scratch.js'

const scratch = new Scratch()
afterAll(() => scratch.cleanup())

/** A copy of the template data directory with the demo data in it, its resident up. */
async function demoWarehouse() {
  const t = await scratch.warehouse('embedded', 'resident')
  const demo = await runCli(['run', '--demo'], { env: t.env, timeoutMs: 60_000 })
  expect(demo.code, demo.stderr).toBe(0)
  return t
}

describe('the resident process of the embedded database', () => {
  it('serves a warm query the same rows as the cold one, from the same resident', async () => {
    const t = await scratch.warehouse('embedded', 'resident_warm')
    expect((await runCli(['run', '--demo'], { env: t.env })).code).toBe(0)
    const { pid } = readResidentInfo(t.dir!)!
    process.kill(pid, 'SIGTERM')
    expect(await waitForExit(pid)).toBe(true)
    const cold = await runCli(['query', '--json'], { env: t.env })
    const resident = readResidentInfo(t.dir!)!
    const warm = await runCli(['query', '--json'], { env: t.env })
    expect(cold.code, cold.stderr).toBe(0)
    expect(warm.code, warm.stderr).toBe(0)
    expect(JSON.parse(warm.stdout)).toEqual(JSON.parse(cold.stdout))
    expect(JSON.parse(cold.stdout).rows).toHaveLength(20)
    expect(readResidentInfo(t.dir!)!.pid).toBe(resident.pid)
    expect(isAlive(resident.pid)).toBe(true)
  })

  it('runs two commands started together one after the other, both successfully', async () => {
    const t = await demoWarehouse()
    const [a, b] = await Promise.all([
      runCli(['run', '--demo', '--json'], { env: t.env, timeoutMs: 60_000 }),
      runCli(['run', '--demo', '--json'], { env: t.env, timeoutMs: 60_000 }),
    ])
    expect(a.code, a.stderr).toBe(0)
    expect(b.code, b.stderr).toBe(0)
    const runs = await t.query<{ status: string }>(`select status from etl_runs order by run_id`)
    expect(runs.map((r) => r.status)).toEqual(['ok', 'ok', 'ok'])
  })

  it('keeps every committed row when the resident is killed (SIGKILL): the next command starts another', async () => {
    const t = await demoWarehouse()
    const before = await t.count('assets')
    const { pid } = readResidentInfo(t.dir!)!
    process.kill(pid, 'SIGKILL')
    expect(await waitForExit(pid)).toBe(true)
    const started = performance.now()
    const r = await runCli(['status', '--json'], { env: t.env, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    // Within the dead resident's stale lock (10 s) and the command's wait (12 s).
    expect(performance.now() - started).toBeLessThan(20_000)
    expect(readResidentInfo(t.dir!)!.pid).not.toBe(pid)
    expect(await t.count('assets')).toBe(before)
    expect(await t.count('etl_runs')).toBe(1)
  })

  it('leaves nothing of a run killed (SIGKILL) mid-load, and the next run lands exactly', async () => {
    const t = await demoWarehouse()
    const snapshots = await t.count('asset_snapshots')
    const running = startCli(['run', '--demo', '--verbose'], { env: t.env, timeoutMs: 60_000 })
    let seen = ''
    running.child.stderr?.on('data', (d: Buffer | string) => {
      seen += String(d)
      if (seen.includes('assets:') && !running.child.killed) running.child.kill('SIGKILL')
    })
    const killed = await running.done
    expect(killed.signal).toBe('SIGKILL')
    const after = await t.count('asset_snapshots')
    // The assets dataset either committed whole before the kill, or not at all.
    expect([snapshots, snapshots + 100]).toContain(after)
    const next = await runCli(['run', '--demo', '--json'], { env: t.env, timeoutMs: 60_000 })
    expect(next.code, next.stderr).toBe(0)
    expect(await t.count('asset_snapshots')).toBe(after + 100)
  }, 120_000)

  it('waits for a process that opened the database itself (CRYPTO_ETL_EMBEDDED_IDLE=0), then exits 74', async () => {
    const t = await demoWarehouse()
    const { pid } = readResidentInfo(t.dir!)!
    process.kill(pid, 'SIGTERM')
    expect(await waitForExit(pid)).toBe(true)
    const holder = await startEmbedded(t.dir!)
    try {
      const r = await runCli(['query'], { env: t.env, timeoutMs: 60_000 })
      expect(r.code).toBe(74)
      expect(r.stderr).toContain(`Another crypto-etl process is using the embedded database in ${t.dir}.`)
      // It waited the default 12 s for the directory, as before the resident.
      expect(r.ms).toBeGreaterThanOrEqual(12_000)
    } finally {
      await holder.stop()
    }
    const run = await runCli(['run', '--demo', '--json'], { env: { ...t.env, CRYPTO_ETL_LOCK_TIMEOUT: '1s' } })
    expect(run.code, run.stderr).toBe(0)
  }, 120_000)

  it('replaces a resident of another crypto-etl version', async () => {
    const t = await demoWarehouse()
    const old = readResidentInfo(t.dir!)!
    const record = JSON.parse(await readFile(residentInfoPath(t.dir!), 'utf8'))
    await writeFile(residentInfoPath(t.dir!), JSON.stringify({ ...record, version: '0.0.1-old' }))
    const r = await runCli(['status', '--json'], { env: t.env, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(await waitForExit(old.pid, 5_000)).toBe(true)
    const now = readResidentInfo(t.dir!)!
    expect(now.pid).not.toBe(old.pid)
    expect(now.version).toBe(record.version)
  })
})
