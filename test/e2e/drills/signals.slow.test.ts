/**
 * Slow SIGTERM drills (`npm run drills`) on the embedded database: `prune` and `backfill` stop with exit 143,
 * keep what was finished whole, record the run as interrupted, and the same command completes the job.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import { cleanupDrills, errorBlock, prepareTarget, pruneSigtermDrill } from '../../helpers/drills.js'
import { type HistoryServer, startHistoryServer } from '../../helpers/history-server.js'

const histories: HistoryServer[] = []
afterAll(async () => {
  for (const s of histories) await s.close()
  await cleanupDrills()
})

describe('SIGTERM on the embedded database', () => {
  it('stops prune with 143 between whole partitions, records it interrupted, and a re-run finishes', async () => {
    await pruneSigtermDrill('embedded')
  })
})

describe('SIGTERM during backfill on the embedded database', () => {
  it('exits 143 keeping only finished windows whole, and the same command resumes with the rest', async () => {
    const server = await startHistoryServer({ latencyMs: 100 })
    histories.push(server)
    const t = await prepareTarget('embedded', 'term_backfill', server.url)
    const args = ['backfill', '--assets', 'bitcoin,ethereum', '--interval', 'h1']
    const range = ['--from', '2025-01-01', '--to', '2025-04-01', '--window', '1d']
    const killed = await runCli([...args, ...range], {
      env: t.env,
      timeoutMs: 60_000,
      onSpawn: (child) => {
        const poll = setInterval(() => {
          if (server.history.length >= 12) {
            clearInterval(poll)
            child.kill('SIGTERM')
          }
        }, 10)
        child.on('exit', () => clearInterval(poll))
      },
    })
    expect(killed.code).toBe(143)
    expect(errorBlock(killed.stderr)[0]).toBe('Error: Interrupted by SIGTERM.')
    const [done] = await t.query<{ n: number }>(`select count(*)::int as n from backfill_windows where status = 'done'`)
    const windows = done!.n
    expect(windows).toBeGreaterThanOrEqual(1)
    expect(windows).toBeLessThan(180)
    // A window is loaded whole or not at all: 24 hourly points per finished one-day window.
    expect(await t.count('asset_history')).toBe(windows * 24)
    expect(await t.query<{ status: string }>('select status from etl_runs')).toEqual([{ status: 'interrupted' }])

    const asked = server.history.length
    server.set({ latencyMs: 0 })
    const resumed = await runCli([...args, ...range], { env: t.env, timeoutMs: 60_000 })
    expect(resumed.code).toBe(0)
    expect(server.history.length - asked).toBe(180 - windows)
    expect(await t.count('asset_history')).toBe(2 * 90 * 24)
  })
})
