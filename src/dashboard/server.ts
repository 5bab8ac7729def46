/**
 * The dashboard's HTTP server (node:http, nothing else): the page's files, the JSON endpoints of api.ts, and
 * nothing that writes: only GET and HEAD are answered, every read goes through the read-only reader.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { type EtlError, ExitCode } from '../core/errors.js'
import type { Logger } from '../core/log.js'
import { type ApiContext, ENDPOINTS, endpointParams } from './api.js'
import type { WarehouseReader } from './reader.js'
import { allowedHosts, authorized, SECURITY_HEADERS, tokenCookie, tokenInUrl } from './security.js'
import type { StaticFile } from './static.js'

export interface DashboardServerOptions {
  host: string
  /** 0: any free port. */
  port: number
  /** Required of every request when set (a non-loopback host). */
  token?: string
  reader: WarehouseReader
  context: ApiContext
  files: Map<string, StaticFile>
  logger: Logger
  /** Maps anything a read threw to the error a command would report (message masked, exit code). */
  toError(error: unknown): EtlError
}

export interface DashboardServer {
  /** The address it listens on, e.g. `http://127.0.0.1:8787/`. */
  url: string
  port: number
  close(): Promise<void>
}

/** The HTTP status of a failed read: bad parameters 400, a busy or unreachable database 503, else 500. */
function statusOf(error: EtlError): number {
  if (error.exitCode === ExitCode.usage) return 400
  if (error.exitCode === ExitCode.database) return 503
  return 500
}

function send(req: IncomingMessage, res: ServerResponse, status: number, file: Omit<StaticFile, 'gzipped'>): void {
  const gzip = file.body.length > 1024 && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
  // The page's files are gzipped once, at their best; an answer at once, at the fastest level (a tenth larger).
  const body = gzip ? ((file as StaticFile).gzipped ?? gzipSync(file.body, { level: 1 })) : file.body
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': file.type,
    'content-length': body.length,
    'cache-control': 'no-store',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

function sendJson(req: IncomingMessage, res: ServerResponse, status: number, value: unknown): void {
  send(req, res, status, { type: 'application/json; charset=utf-8', body: Buffer.from(JSON.stringify(value)) })
}

function sendError(req: IncomingMessage, res: ServerResponse, status: number, message: string, hint?: string) {
  sendJson(req, res, status, { error: { message, hint } })
}

/** Starts the server; resolves once it listens. */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res, options).catch((error: unknown) => {
      options.logger.warn(`dashboard: ${(error as Error).message}`)
      if (!res.headersSent) sendError(req, res, 500, 'Internal error.')
      else res.destroy()
    })
  })
  // A page left open keeps a connection alive; it must not hold the process when the dashboard stops.
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const shown = options.host.includes(':') ? `[${options.host}]` : options.host
  return {
    url: `http://${shown}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, options: DashboardServerOptions): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD')
    return sendError(req, res, 405, 'The dashboard only reads: GET and HEAD.')
  }
  const hosts = allowedHosts(options.host, req.socket.localPort ?? 0)
  if (hosts && !hosts.has((req.headers.host ?? '').toLowerCase())) {
    return sendError(req, res, 421, 'This dashboard answers to 127.0.0.1 and localhost only.')
  }
  const url = new URL(req.url ?? '/', 'http://dashboard.invalid')
  if (url.pathname === '/' && tokenInUrl(url, options.token)) {
    // The token leaves the address bar (and the history) at once; the cookie carries it from now on.
    res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': tokenCookie(options.token!) })
    return void res.end()
  }
  if (!authorized(req, options.token)) {
    return sendError(req, res, 401, 'This dashboard needs its token: open the URL it printed when it started.')
  }
  const api = /^\/api\/([a-z]+)$/.exec(url.pathname)?.[1]
  if (api !== undefined && Object.hasOwn(ENDPOINTS, api)) return answerApi(req, res, options, api, url)
  const file = options.files.get(url.pathname)
  if (file) return send(req, res, 200, file)
  return sendError(req, res, 404, 'Not found.')
}

async function answerApi(
  req: IncomingMessage,
  res: ServerResponse,
  options: DashboardServerOptions,
  name: string,
  url: URL,
): Promise<void> {
  const started = performance.now()
  try {
    const params = endpointParams(name, url.searchParams)
    const result = await options.reader.read((warehouse) => ENDPOINTS[name]!.run(warehouse, params, options.context))
    sendJson(req, res, 200, result)
    options.logger.debug('dashboard read', { endpoint: name, ms: Math.round(performance.now() - started) })
  } catch (error) {
    const etl = options.toError(error)
    const status = statusOf(etl)
    if (status === 503) res.setHeader('retry-after', '5')
    if (status !== 400) options.logger.warn(`dashboard: /api/${name}: ${etl.message}`)
    sendError(req, res, status, etl.message, etl.hint)
  }
}
