/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core), served by the built CLI on a
 * seeded warehouse: the table shows the stored prices, the chart draws the stored points with the gaps left
 * open, the currency switch converts by the stored rate, the health panel turns red when the data goes stale,
 * and a run that lands while the page is open shows after a refresh.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FixtureServer, startFixtureServer } from '../../src/demo/server.js'
import { type Browser, launchBrowser } from '../helpers/browser.js'
import { runCli } from '../helpers/cli.js'
import { type RunningDashboard, seedTarget, type SeededTarget, startDashboard } from '../helpers/dashboard.js'
import { chartCurrency, chartPoints, latestTable, refreshed, watchErrors } from '../helpers/dashboard-page.js'
import { TARGETS } from '../helpers/warehouse.js'

type Json = Record<string, unknown>

/** Generous: on a loaded machine the embedded database takes seconds to open, for each CLI run and each refresh. */
const CLI_TIMEOUT_MS = 90_000
const PAGE_WAIT_MS = 45_000

describe.each(TARGETS)('the dashboard page on the %s database', { timeout: 180_000 }, (target) => {
  let seed: SeededTarget
  let dashboard: RunningDashboard
  let browser: Browser
  let page: Page
  let errors: string[]
  let api: FixtureServer
  const at = new Date(Math.floor(Date.now() / 1000) * 1000)

  const cliJson = async (...args: string[]) => {
    const r = await runCli(args, { env: seed.env, timeoutMs: CLI_TIMEOUT_MS })
    expect(r.code).toBe(0)
    return JSON.parse(r.stdout) as Json
  }

  beforeAll(async () => {
    seed = await seedTarget(target, `dash_page_${target}`, at)
    api = await startFixtureServer()
    // Fresh for 3 minutes: green at first; stale for good once the newest runs are rolled back (5 min old).
    dashboard = await startDashboard(seed.env, ['--max-age', '3m', '--refresh', '2s'])
    browser = await launchBrowser()
    page = await browser.context.newPage()
    errors = watchErrors(page)
    await page.goto(dashboard.url)
    await refreshed(page, 1)
  }, 240_000)
  afterAll(async () => {
    await browser?.close()
    await dashboard?.stop()
    await api?.close()
    await seed?.cleanup()
  })

  it('shows health green while the data is fresh', async () => {
    expect(await page.getAttribute('#health-panel', 'data-healthy')).toBe('true')
    expect(await page.textContent('#verdict')).toBe('healthy')
  })

  it('shows the stored prices of query latest, exactly, by rank', async () => {
    const stored = (await cliJson('query', 'latest', '--json')).rows as Json[]
    const rows = await latestTable(page)
    expect(rows.map((r) => [r.asset, r.priceValue])).toEqual(stored.map((s) => [s.asset_id, s.price]))
    expect(rows.map((r) => [r.symbol, r.price])).toEqual([
      ['BTC', '80,800.00'],
      ['ETH', '2,940.00'],
      ['USDT', '1.00'],
      ['DOGE', '0.21'],
      ['SHIB', '0.00001197'],
      ['BTC', '80,700.50'],
    ])
    expect(await page.textContent('#latest th[data-column="price"]')).toBe('Price (USD)')
  })

  it('sorts the table by a column when its header is clicked', async () => {
    await page.click('#latest th[data-column="price"] button')
    expect((await latestTable(page)).map((r) => r.symbol)).toEqual(['BTC', 'BTC', 'ETH', 'USDT', 'DOGE', 'SHIB'])
    await page.click('#latest th[data-column="rank"] button')
    expect((await latestTable(page)).map((r) => r.symbol)[0]).toBe('BTC')
  })

  it('draws the stored points of the chosen asset, and leaves the gaps of its history open', async () => {
    expect(await page.inputValue('#asset')).toBe('bitcoin')
    const { series, drawn, gaps } = await chartPoints(page)
    const hour = (h: number) => (seed.seeded.historyStart.getTime() + h * 3_600_000) / 1000
    const s = (d: Date) => d.getTime() / 1000
    expect(series).toEqual({
      snapshot: [
        [s(seed.seeded.t0), 80000],
        [s(seed.seeded.t1), 80400],
        [s(seed.seeded.t2), 80800],
      ],
      'history h1': [
        [hour(0), 79000.5],
        [hour(1), 79100],
        [hour(4), 79400],
        [hour(6), 79600.25],
      ],
    })
    // Each stored point has its series' colour on the canvas; the middle of each hole has none.
    expect(drawn).toEqual(Array(7).fill(true))
    expect(gaps).toEqual([false, false])
  })

  it('draws a long range from the stored points query history --points picks, gaps still open', async () => {
    await page.click('#ranges button[data-range="30d"]')
    await page.waitForSelector('#chart-note[data-range="30d"]')
    const { series, drawn, gaps } = await chartPoints(page)
    const answer = await cliJson(
      'query',
      'history',
      '--asset',
      'bitcoin',
      '--since',
      '30d',
      '--points',
      '1440',
      '--json',
    )
    const stored: Record<string, [number, number][]> = {}
    for (const row of answer.rows as Json[]) {
      ;(stored[row.source as string] ??= []).push([Date.parse(row.time as string) / 1000, Number(row.price)])
    }
    expect(series).toEqual(stored)
    expect(Object.values(series).flat().length).toBe(7)
    expect(drawn).toEqual(Array(7).fill(true))
    expect(gaps).toEqual([false, false])
    await page.click('#ranges button[data-range="24h"]')
    await page.waitForSelector('#chart-note[data-range="24h"]')
  })

  it('converts every value by the stored rate when the currency changes', async () => {
    const usd = (await latestTable(page)).map((r) => r.priceValue)
    await page.selectOption('#currency', 'EUR')
    await chartCurrency(page, 'EUR')
    const eur = await latestTable(page)
    const stored = (await cliJson('query', 'latest', '--currency', 'EUR', '--json')).rows as Json[]
    expect(eur.map((r) => r.priceValue)).toEqual(stored.map((s) => s.price))
    expect(eur[0]).toMatchObject({ priceValue: '69655.172413793109469758', price: '69,655.17' })
    // The stored EUR rate is 1.16: each price is its USD price over it.
    eur.forEach((r, i) => expect(Number(r.priceValue) * 1.16).toBeCloseTo(Number(usd[i]), 6))
    const chart = await chartPoints(page)
    expect(chart.series.snapshot!.at(-1)![1]).toBeCloseTo(80800 / 1.16, 6)
    await page.selectOption('#currency', 'USD')
    await chartCurrency(page, 'USD')
  })

  it('shows a run that lands while the page is open, after a refresh', async () => {
    const env = { ...seed.env, COINCAP_API_URL: api.url, COINCAP_API_KEY: 'dashboard-e2e-key' }
    const r = await runCli(['run', '--datasets', 'assets', '--json'], { env, timeoutMs: CLI_TIMEOUT_MS })
    expect(r.code).toBe(0)
    const runId = (JSON.parse(r.stdout) as { runId: number }).runId
    // A refresh during the run shows it running; the next one after it finished shows it ok.
    await page.waitForFunction(
      (id) => document.querySelector(`#runs tr[data-run="${id}"] td.status`)?.textContent === 'ok',
      runId,
      { timeout: PAGE_WAIT_MS },
    )
    expect(await page.textContent(`#runs tr[data-run="${runId}"] td.status`)).toBe('ok')
    // The fixture's bitcoin price, now the newest snapshot.
    await page.waitForSelector('#latest td[data-value="80399.570000000006984919"]', { timeout: PAGE_WAIT_MS })
    expect((await latestTable(page))[0]).toMatchObject({ asset: 'bitcoin', price: '80,399.57' })
  })

  it('turns the health panel red when the data is stale', async () => {
    // Without the newest runs' rows, the newest data is over 5 minutes old: older than --max-age 3m.
    const runs = ((await cliJson('query', 'runs', '--json')).rows as Json[]).filter((r) => r.command === 'run')
    for (const run of runs.slice(0, 2)) {
      const pruned = await runCli(['prune', '--run', String(run.run_id)], { env: seed.env, timeoutMs: CLI_TIMEOUT_MS })
      expect(pruned.code).toBe(0)
    }
    await page.waitForSelector('#health-panel[data-healthy="false"]', { timeout: PAGE_WAIT_MS })
    expect(await page.textContent('#verdict')).toBe('unhealthy')
    expect(await page.getAttribute('#freshness tr[data-dataset="assets"]', 'class')).toBe('bad')
    const reasons = await page.$$eval('#reasons li', (items) => items.map((li) => li.textContent))
    expect(reasons).toContainEqual(
      expect.stringMatching(/^assets: newest data is \d+m(\d+s)? old \(.*\), older than 3m$/),
    )
  })

  it('breaks no rule of the page: no script error, nothing refused by its security policy', () => {
    // A refresh that met a command holding the embedded database for long says "busy" and reads at the next
    // one: no page error, though the browser logs the 503 it got. Anything else is.
    expect(errors.filter((e) => !e.includes('status of 503'))).toEqual([])
  })
})
