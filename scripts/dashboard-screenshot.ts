/**
 * Takes docs/dashboard.png: the dashboard on the demo data, as a new user sees it. `npm run screenshot`
 * (after a build): a fresh embedded database in a temporary folder, a few `run --demo` a little apart,
 * `dashboard`, and Chromium (Debian's, through playwright-core) at 1400 × 1000.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { launchBrowser } from '../test/helpers/browser.js'
import { BIN } from '../test/helpers/cli.js'
import { startDashboard } from '../test/helpers/dashboard.js'
import { refreshed } from '../test/helpers/dashboard-page.js'

const RUNS = 4
const OUT = join(import.meta.dirname, '..', 'docs', 'dashboard.png')

const dir = mkdtempSync(join(tmpdir(), 'crypto-etl-screenshot-'))
const env = { CRYPTO_ETL_DATA_DIR: dir }
try {
  for (let i = 0; i < RUNS; i++) {
    execFileSync(process.execPath, [BIN, 'run', '--demo', '--quiet'], {
      env: { PATH: process.env.PATH, HOME: dir, ...env },
    })
    await new Promise((resolve) => setTimeout(resolve, 15_000))
  }
  const dashboard = await startDashboard(env, ['--plan', 'free'])
  const browser = await launchBrowser({ width: 1400, height: 1000 })
  try {
    const page = await browser.context.newPage()
    await page.goto(dashboard.url)
    await refreshed(page, 1)
    await page.click('#ranges button[data-range="1h"]')
    await refreshed(page, 2)
    await page.screenshot({ path: OUT })
    process.stdout.write(`${OUT}\n`)
  } finally {
    await browser.close()
    await dashboard.stop()
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
