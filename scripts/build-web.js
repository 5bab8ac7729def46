// Bundles the dashboard's page (web/) into dist/web/: index.html, app.js and app.css, with uPlot inside,
// minified, so the page needs nothing from the network. Run by `npm run build`.
import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'web')
mkdirSync(out, { recursive: true })
await build({
  entryPoints: { app: join(root, 'web', 'main.ts') },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome109', 'firefox115', 'safari16'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
})
copyFileSync(join(root, 'web', 'index.html'), join(out, 'index.html'))
