/**
 * The embedded database is held by one process at a time, and the dashboard must not keep cron runs out:
 * with the page open and refreshing every 2 s, `run --demo` started again and again, 3 s apart, lands every
 * time, and the page shows each run and labels its prices as demo data.
 */
import { rm } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Browser, launchBrowser } from '../helpers/browser.js'
import { type CliResult, runCli } from '../helpers/cli.js'
import { type RunningDashboard, startDashboard } from '../helpers/dashboard.js'
import { refreshed, watchErrors } from '../helpers/dashboard-page.js'
import { copyEmbeddedTemplate } from '../helpers/warehouse.js'

const RUNS = 5
/** The pause between a run's end and the next run's start. */
const PAUSE_MS = 3000
/** Generous: on a loaded machine the embedded database takes seconds to open, for each run and each refresh. */
const PAGE_WAIT_MS = 45_000
const HOOK_TIMEOUT_MS = 240_000

describe('cron runs on the embedded database while the dashboard is open', { timeout: 240_000 }, () => {
  let dir: string
  let env: Record<string, string>
  let dashboard: RunningDashboard
  let browser: Browser
  let page: Page
  let errors: string[]
  const runIds: number[] = []

  const demoRun = async (): Promise<CliResult & { runId?: number; status?: string }> => {
    const r = await runCli(['run', '--demo', '--json'], { env, timeoutMs: 90_000 })
    const result = JSON.parse(r.stdout || '{}') as { runId?: number; status?: string }
    return { ...r, ...result }
  }

  beforeAll(async () => {
    // A fresh embedded database (a copy of the test template: PGlite's initdb is no part of this test).
    dir = await copyEmbeddedTemplate()
    env = { CRYPTO_ETL_DATA_DIR: dir }
    const first = await demoRun()
    expect([first.code, first.status]).toEqual([0, 'ok'])
    runIds.push(first.runId!)
    dashboard = await startDashboard(env, ['--refresh', '2s'])
    browser = await launchBrowser()
    page = await browser.context.newPage()
    errors = watchErrors(page)
    await page.goto(dashboard.url)
    await refreshed(page, 1)
  }, HOOK_TIMEOUT_MS)
  afterAll(async () => {
    await browser?.close()
    await dashboard?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('labels the demo prices as demo data', async () => {
    expect(await page.isVisible('#demo')).toBe(true)
    expect(await page.textContent('#demo')).toBe(
      `Demo data: made-up prices from run ${runIds[0]} (remove: crypto-etl prune --run ${runIds[0]})`,
    )
    expect(await page.$$eval('#latest tbody tr[data-asset]', (rows) => rows.length)).toBe(20)
  })

  it(`lands all ${RUNS} runs started ${PAUSE_MS / 1000} s apart, and the page shows each`, async () => {
    const refreshesBefore = Number(await page.getAttribute('body', 'data-refreshes'))
    // One after another, a few seconds apart: cron's ticks, minus the minutes between them. (Runs that overlap
    // each other are another matter: the later one waits, then skips; see the db-faults drill.)
    const results: Awaited<ReturnType<typeof demoRun>>[] = []
    for (let i = 0; i < RUNS; i++) {
      results.push(await demoRun())
      await new Promise((resolve) => setTimeout(resolve, PAUSE_MS))
    }
    for (const r of results) {
      expect({ code: r.code, status: r.status, skipped: r.stderr.includes('skipped') }, r.stderr).toEqual({
        code: 0,
        status: 'ok',
        skipped: false,
      })
      runIds.push(r.runId!)
    }
    expect(new Set(runIds).size).toBe(RUNS + 1)
    for (const id of runIds) await page.waitForSelector(`#runs tr[data-run="${id}"]`, { timeout: PAGE_WAIT_MS })
    // The page kept refreshing while the runs came.
    expect(Number(await page.getAttribute('body', 'data-refreshes'))).toBeGreaterThan(refreshesBefore + 3)
    await page.waitForFunction(
      (n) => document.querySelector('#demo')?.textContent?.includes(`, ${n} (`),
      runIds.at(-1),
      { timeout: PAGE_WAIT_MS },
    )
  })

  it('raised no error in the page', () => {
    // A refresh that met a run holding the database says "busy" and tries again: that is no page error,
    // but the browser logs the 503 it got. Anything else is.
    expect(errors.filter((e) => !e.includes('status of 503'))).toEqual([])
  })
})
