import { spawn } from 'node:child_process'
import { homedir } from 'node:os'
import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base-command.js'
import { ConfigError, EtlError, UsageError } from '../core/errors.js'
import { maskSecrets } from '../core/secrets.js'
import { durationFlag } from '../cli/flags.js'
import { DEFAULT_READER_OPTIONS, createReader } from '../dashboard/reader.js'
import { isLoopback, newToken } from '../dashboard/security.js'
import { startDashboardServer } from '../dashboard/server.js'
import { loadStaticFiles } from '../dashboard/static.js'
import { parsePlan } from '../dashboard/plan.js'
import { describeTarget } from '../warehouse/connection/target.js'
import { toEtlError } from '../warehouse/connection/database-errors.js'

export default class Dashboard extends BaseCommand<typeof Dashboard> {
  static override summary = 'Serve a read-only web page of the warehouse: prices, charts, movers, exchanges, health.'
  static override description = `Serves the page on 127.0.0.1 until Ctrl-C (or SIGTERM), then exits 0. Every read is \
read-only with a statement timeout; on the embedded database it opens the data directory only while it reads, so \
cron runs keep landing. A --host other than loopback asks for a token: CRYPTO_ETL_DASHBOARD_TOKEN (settings file), \
else a new one printed once in the URL.`
  static override examples = [
    '<%= config.bin %> dashboard --open',
    '<%= config.bin %> dashboard --port 9000 --max-age 15m --plan basic',
    'CRYPTO_ETL_DASHBOARD_TOKEN=$(openssl rand -hex 24) <%= config.bin %> dashboard --host 0.0.0.0',
  ]
  static override enableJsonFlag = false
  static override flags = {
    port: Flags.integer({ summary: 'Port to serve on (0: any free one).', default: 8787, min: 0, max: 65535 }),
    host: Flags.string({ summary: 'Address to bind; other than loopback asks for a token.', default: '127.0.0.1' }),
    open: Flags.boolean({ summary: 'Open the page in the default browser.' }),
    'max-age': durationFlag({ summary: 'Health: data older than this is stale, as status --max-age (default 15m).' }),
    plan: Flags.string({ summary: 'CoinCap plan (free, basic, growth, professional, enterprise) or monthly credits.' }),
    refresh: durationFlag({ summary: 'How often the page refreshes itself (default 30s).' }),
  }

  async run(): Promise<void> {
    const { flags } = this
    const refreshMs = flags.refresh ?? 30_000
    if (refreshMs < 1000) throw new UsageError('--refresh must be at least 1s.')
    const loopback = isLoopback(flags.host)
    const token = loopback ? undefined : (this.settings.dashboardToken ?? newToken())
    const files = loadStaticFiles()
    const reader = createReader(this.settings, DEFAULT_READER_OPTIONS)
    this.onCleanup(() => reader.close())
    const context = { maxAgeMs: flags['max-age'] ?? 15 * 60_000, refreshMs, plan: parsePlan(flags.plan) }
    // Fails now, with the command's exit code, if the warehouse cannot be read (then released at once).
    await reader.read(async (warehouse) => warehouse.kind)
    const server = await startDashboardServer({
      host: flags.host,
      port: flags.port,
      token,
      reader,
      context,
      files,
      logger: this.logger,
      toError: (error) => this.shown(toEtlError(error)),
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') throw new UsageError(`Port ${flags.port} is in use: choose another with --port.`)
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        throw new ConfigError(
          `Cannot listen on ${flags.host}: ${error.code}.`,
          'Give --host an address of this machine.',
        )
      }
      throw error
    })
    this.onCleanup(() => server.close())
    const url = token && !this.settings.dashboardToken ? `${server.url}?token=${token}` : server.url
    this.log(`Dashboard of ${describeTarget(this.settings, { home: homedir() })}: ${url}`)
    if (token && !this.settings.dashboardToken) this.log('The token is shown only here; the page remembers it.')
    if (flags.open) {
      openBrowser(url, (why) => this.logger.warn(`Could not open a browser (${why}); open the address above.`))
    }
    await new Promise<void>((resolve) => this.abortController.signal.addEventListener('abort', () => resolve()))
  }

  /** An error as the page may show it: its message and hint with every secret masked. */
  private shown(error: EtlError): EtlError {
    const mask = (text: string | undefined) => text && maskSecrets(text, this.settings.secrets)
    return new EtlError(mask(error.message)!, error.exitCode, mask(error.hint))
  }
}

/**
 * Opens `url` in the desktop's browser, if there is one; a headless machine just has the printed URL, and
 * `failed` says why nothing opened (no opener, or one that found no browser: xdg-open exits 3).
 */
function openBrowser(url: string, failed: (why: string) => void): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  const child = spawn(command, [url], { stdio: 'ignore', detached: true })
  child.on('error', (error: NodeJS.ErrnoException) => failed(`${command}: ${error.code ?? error.message}`))
  // explorer exits 1 even when it opened the page.
  child.on('exit', (code) => {
    if (code && process.platform !== 'win32') failed(`${command} exited ${code}`)
  })
  child.unref()
}
