/**
 * The page itself: the files `npm run build` bundles into `dist/web/` (HTML, one script, one stylesheet),
 * read once at start and kept with their gzip form. Nothing is fetched from elsewhere, so it works offline.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { ConfigError } from '../core/errors.js'
import { packageRoot } from '../core/paths.js'

export interface StaticFile {
  type: string
  body: Buffer
  gzipped: Buffer
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
}

/** Where the built front end is. */
function webDir(): string {
  return join(packageRoot(), 'dist', 'web')
}

/**
 * The front end's files by URL path (`/` for index.html).
 * @throws ConfigError (78) when the package was not built (a checkout without `npm run build`).
 */
export function loadStaticFiles(dir = webDir()): Map<string, StaticFile> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new ConfigError(`The dashboard's page is not built (no ${join(dir, 'index.html')}).`, 'Run: npm run build')
  }
  const files = new Map<string, StaticFile>()
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)]
    if (!type) continue
    const body = readFileSync(join(dir, name))
    files.set(name === 'index.html' ? '/' : `/${name}`, { type, body, gzipped: gzipSync(body, { level: 9 }) })
  }
  return files
}
