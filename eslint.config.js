// One linter for the project: ESLint with typescript-eslint's recommended rules, type-aware where it counts,
// and what each folder of src/ may call. `npm run lint` also runs Prettier (formatting), dependency-cruiser
// (the layers and import cycles, .dependency-cruiser.js) and knip (unused files and exports, knip.json).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** Libraries that draw on a terminal: only `src/ui/` imports them. */
const DRAWING = [
  'ora',
  'cli-table3',
  'chalk',
  'picocolors',
  'kleur',
  'colorette',
  'ansi-colors',
  'cli-progress',
  'log-update',
]
/** HTTP clients: only `src/coincap/` speaks HTTP. */
const HTTP_CLIENTS = ['got', 'undici', 'axios', 'node-fetch', 'ky', 'node:https', 'https', 'node:http2', 'http2']
/** What a local HTTP server (the demo source, the dashboard) takes from `node:http`; its client half is coincap's. */
const HTTP_SERVER_NAMES = ['createServer', 'Server', 'IncomingMessage', 'ServerResponse', 'STATUS_CODES']

const noDrawing = DRAWING.map((name) => ({ name, message: 'Only src/ui/ draws: return data and let ui render it.' }))
const noHttp = HTTP_CLIENTS.map((name) => ({ name, message: 'Only src/coincap/ speaks HTTP.' }))
const nodeHttp = (allowImportNames) =>
  ['node:http', 'http'].map((name) => ({
    name,
    ...(allowImportNames ? { allowImportNames } : {}),
    message: allowImportNames
      ? 'A local HTTP server takes only the server half of node:http; only src/coincap/ speaks HTTP as a client.'
      : 'Only src/coincap/ speaks HTTP (src/demo/ and src/dashboard/ may serve it).',
  }))
const restrictedImports = (paths) => ['error', { paths, patterns: [] }]

/** The terminal: only the outer layers write to it; the rest returns data or logs through core/log.ts. */
const noTerminal = [
  { object: 'process', property: 'stdout', message: 'Only src/commands/, src/cli/ and src/ui/ write to the terminal.' },
  { object: 'process', property: 'stderr', message: 'Only src/commands/, src/cli/ and src/ui/ write to the terminal.' },
  {
    object: 'console',
    message: 'Only src/commands/, src/cli/ and src/ui/ write to the terminal (log through core/log.ts).',
  },
]
/** The environment: settings come from the one table in config/ (cli/ hands them on, ui/ reads NO_COLOR and CI). */
const noEnv = {
  object: 'process',
  property: 'env',
  message: 'Only src/config/, src/cli/ and src/ui/ read process.env: add a setting to config/settings-table.ts.',
}
/** Ending the process: only the base command and the hook do it, after mapping an error to its exit code. */
const noExit = {
  object: 'process',
  property: 'exit',
  message: 'Only src/cli/ ends the process: throw a typed error (core/errors.ts) and let it pick the exit code.',
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'fixtures/', 'coverage/', 'scratch/', 'oclif.manifest.json'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Type-aware rules for the TypeScript files (each in a tsconfig.json): a promise is awaited, returned or
  // explicitly voided, never passed where a callback's result is ignored, and a switch names every case.
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
    },
  },
  // What src/ may call: only ui/ draws, only coincap/ speaks HTTP, only the outer layers write to the terminal,
  // only cli/ ends the process, only config/, cli/ and ui/ read the environment.
  // (Which folder may import which is the layer table of .dependency-cruiser.js.)
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': restrictedImports([...noDrawing, ...noHttp, ...nodeHttp()]),
      'no-restricted-globals': [
        'error',
        ...['fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource'].map((name) => ({
          name,
          message: 'Only src/coincap/ speaks HTTP.',
        })),
      ],
      'no-restricted-properties': ['error', ...noTerminal, noExit, noEnv],
    },
  },
  { files: ['src/ui/**/*.ts'], rules: { 'no-restricted-imports': restrictedImports([...noHttp, ...nodeHttp()]) } },
  {
    files: ['src/coincap/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports(noDrawing), 'no-restricted-globals': 'off' },
  },
  {
    files: ['src/demo/**/*.ts', 'src/dashboard/**/*.ts'],
    rules: { 'no-restricted-imports': restrictedImports([...noDrawing, ...noHttp, ...nodeHttp(HTTP_SERVER_NAMES)]) },
  },
  {
    files: ['src/commands/**/*.ts', 'src/core/log.ts'],
    rules: { 'no-restricted-properties': ['error', noExit, noEnv] },
  },
  { files: ['src/ui/**/*.ts'], rules: { 'no-restricted-properties': ['error', noExit] } },
  { files: ['src/config/**/*.ts'], rules: { 'no-restricted-properties': ['error', ...noTerminal, noExit] } },
  { files: ['src/cli/**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
)
