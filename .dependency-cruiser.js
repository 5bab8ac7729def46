// The import graph of src/, checked by `npm run lint` (dependency-cruiser): layers point one way and no file
// reaches itself through its imports. Type-only imports count: they couple files as much as any other.
// What a file may call (drawing libraries, HTTP clients, the terminal) is checked by eslint.config.js.
import { readdirSync } from 'node:fs'

/**
 * The layers of src/: each folder names the folders it may import (its own is implied). Arrows point down:
 * commands → cli → ui | dashboard → backfill | schedule → pipeline → coincap | warehouse | demo → config →
 * catalogue → core. A new folder under src/ must be placed here before the lint passes.
 */
const BASE = ['core', 'catalogue', 'config']
const SOURCES = [...BASE, 'coincap', 'warehouse']
const WORK = [...SOURCES, 'pipeline', 'backfill', 'schedule']
const LAYERS = {
  core: [],
  catalogue: ['core'],
  config: ['core', 'catalogue'],
  coincap: BASE,
  warehouse: BASE,
  demo: BASE,
  pipeline: SOURCES,
  backfill: [...SOURCES, 'pipeline'],
  schedule: [...SOURCES, 'pipeline'],
  ui: WORK,
  dashboard: WORK,
  cli: [...WORK, 'ui', 'demo', 'dashboard'],
  commands: [...WORK, 'ui', 'demo', 'dashboard', 'cli'],
}

const unplaced = readdirSync(new URL('src/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !(entry.name in LAYERS))
  .map((entry) => `src/${entry.name}/`)
if (unplaced.length > 0) {
  throw new Error(`${unplaced.join(', ')} has no place in LAYERS (.dependency-cruiser.js): say what it may import`)
}

const layerRules = Object.entries(LAYERS).flatMap(([folder, allowed]) => {
  const forbidden = Object.keys(LAYERS).filter((other) => other !== folder && !allowed.includes(other))
  if (forbidden.length === 0) return []
  const may =
    allowed.length > 0 ? `may import only ${allowed.map((a) => `src/${a}/`).join(', ')}` : 'imports nothing in src/'
  return [
    {
      name: `layer-${folder}`,
      severity: 'error',
      comment: `src/${folder}/ ${may} (the layers in .dependency-cruiser.js).`,
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(${forbidden.join('|')})/` },
    },
  ]
})

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'A file must not reach itself through its imports: move what both sides need down a layer.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'no-entry-point-import',
      severity: 'error',
      comment: 'src/index.ts is the package entry for programmatic users; src/ imports the modules it re-exports.',
      from: { path: '^src/' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'no-dev-dependency',
      severity: 'error',
      comment: 'The installed CLI has no devDependencies: src/ imports dependencies only.',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file or package.',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
}
