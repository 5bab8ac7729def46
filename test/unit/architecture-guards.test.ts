/**
 * The guards of the architecture fire: each rule of eslint.config.js and .dependency-cruiser.js is shown a
 * file that breaks it, and one that keeps it, so a rule that silently stopped matching fails here.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'
import { afterAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

const TYPED_RULES = [
  '@typescript-eslint/await-thenable',
  '@typescript-eslint/no-floating-promises',
  '@typescript-eslint/no-misused-promises',
  '@typescript-eslint/switch-exhaustiveness-check',
]
const typed = new ESLint({ cwd: ROOT })
// The fixtures of src/ are files no TypeScript project knows, so they are linted without type information.
const untyped = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: Object.fromEntries(TYPED_RULES.map((rule) => [rule, 'off'])),
  },
})

/** The rules ESLint reports for `code` as the file `path` (relative to the repository). */
async function violations(path: string, code: string, eslint = untyped): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, path) })
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`)
}

describe('what a folder of src/ may call (eslint.config.js)', () => {
  it('lets only ui/ import a library that draws', async () => {
    const code = `import ora from 'ora'\nexport const spinner = ora()\n`
    expect(await violations('src/pipeline/guard-fixture.ts', code)).toEqual([
      "no-restricted-imports: 'ora' import is restricted from being used. Only src/ui/ draws: return data and let ui render it.",
    ])
    expect(await violations('src/ui/guard-fixture.ts', code)).toEqual([])
  })

  it('lets only coincap/ speak HTTP, and demo/ and dashboard/ serve it', async () => {
    const got = `import got from 'got'\nexport const client = got.extend({})\n`
    expect(await violations('src/warehouse/guard-fixture.ts', got)).toEqual([
      "no-restricted-imports: 'got' import is restricted from being used. Only src/coincap/ speaks HTTP.",
    ])
    expect(await violations('src/coincap/guard-fixture.ts', got)).toEqual([])

    const fetching = `export const answer = await fetch('http://127.0.0.1/')\n`
    expect(await violations('src/pipeline/guard-fixture.ts', fetching)).toEqual([
      "no-restricted-globals: Unexpected use of 'fetch'. Only src/coincap/ speaks HTTP.",
    ])
    expect(await violations('src/coincap/guard-fixture.ts', fetching)).toEqual([])

    const server = `import { createServer } from 'node:http'\nexport const server = createServer()\n`
    const client = `import { request } from 'node:http'\nexport const req = request('http://127.0.0.1/')\n`
    expect(await violations('src/demo/guard-fixture.ts', server)).toEqual([])
    expect(await violations('src/dashboard/guard-fixture.ts', server)).toEqual([])
    expect(await violations('src/dashboard/guard-fixture.ts', client)).toEqual([
      "no-restricted-imports: 'request' import from 'node:http' is restricted because only 'createServer,Server,IncomingMessage,ServerResponse,STATUS_CODES' import(s) is/are allowed. A local HTTP server takes only the server half of node:http; only src/coincap/ speaks HTTP as a client.",
    ])
    expect(await violations('src/warehouse/guard-fixture.ts', server)).toEqual([
      "no-restricted-imports: 'node:http' import is restricted from being used. Only src/coincap/ speaks HTTP (src/demo/ and src/dashboard/ may serve it).",
    ])
  })

  it('lets only commands/, cli/ and ui/ write to the terminal', async () => {
    const code = `process.stdout.write('x\\n')\nconsole.log('x')\n`
    expect(await violations('src/warehouse/guard-fixture.ts', code)).toEqual([
      "no-restricted-properties: 'process.stdout' is restricted from being used. Only src/commands/, src/cli/ and src/ui/ write to the terminal.",
      "no-restricted-properties: 'console.log' is restricted from being used. Only src/commands/, src/cli/ and src/ui/ write to the terminal (log through core/log.ts).",
    ])
    expect(await violations('src/commands/guard-fixture.ts', code)).toEqual([])
  })

  it('lets only config/, cli/ and ui/ read the environment', async () => {
    const code = `export const key = process.env.COINCAP_API_KEY\n`
    const refusal = [
      "no-restricted-properties: 'process.env' is restricted from being used. Only src/config/, src/cli/ and src/ui/ read process.env: add a setting to config/settings-table.ts.",
    ]
    expect(await violations('src/commands/guard-fixture.ts', code)).toEqual(refusal)
    expect(await violations('src/warehouse/guard-fixture.ts', code)).toEqual(refusal)
    expect(await violations('src/config/guard-fixture.ts', code)).toEqual([])
  })

  it('lets only cli/ end the process', async () => {
    const code = `process.exit(3)\n`
    const refusal = [
      "no-restricted-properties: 'process.exit' is restricted from being used. Only src/cli/ ends the process: throw a typed error (core/errors.ts) and let it pick the exit code.",
    ]
    expect(await violations('src/pipeline/guard-fixture.ts', code)).toEqual(refusal)
    expect(await violations('src/commands/guard-fixture.ts', code)).toEqual(refusal)
    expect(await violations('src/cli/guard-fixture.ts', code)).toEqual([])
  })
})

// The first file linted with types loads the whole TypeScript project: seconds, more on a busy machine.
describe('type-aware rules (eslint.config.js)', { timeout: 60_000 }, () => {
  // Type information needs a file the TypeScript project knows: the code is linted as if it were this file.
  const self = 'test/unit/architecture-guards.test.ts'

  it('reports a promise nobody awaits, and one handed to a callback whose result is ignored', async () => {
    const code = [
      'async function work(): Promise<void> {}',
      'work()',
      'setTimeout(async () => { await work() }, 1)',
      'void work()',
      '',
    ].join('\n')
    expect((await violations(self, code, typed)).map((v) => v.split(':')[0])).toEqual([
      '@typescript-eslint/no-floating-promises',
      '@typescript-eslint/no-misused-promises',
    ])
  })

  it('reports a switch that misses a case of its union', async () => {
    const code = [
      "export function name(kind: 'a' | 'b'): string {",
      '  switch (kind) {',
      "    case 'a':",
      "      return 'A'",
      '  }',
      "  return ''",
      '}',
      '',
    ].join('\n')
    expect(await violations(self, code, typed)).toEqual([
      '@typescript-eslint/switch-exhaustiveness-check: Switch is not exhaustive. Cases not matched: "b"',
    ])
  })
})

// dependency-cruiser runs as a process of its own: a second or two, more on a busy machine.
describe('the layers and cycles of src/ (.dependency-cruiser.js)', { timeout: 60_000 }, () => {
  const tree = mkdtempSync(join(tmpdir(), 'crypto-etl-layers-'))
  afterAll(() => rmSync(tree, { recursive: true, force: true }))

  function write(path: string, text: string) {
    mkdirSync(dirname(join(tree, path)), { recursive: true })
    writeFileSync(join(tree, path), text)
  }

  it('reports an upward import and an import cycle, type-only imports included, and passes the rest', () => {
    write('package.json', '{ "type": "module" }\n')
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }))
    // Up: the warehouse imports a command; core imports config.
    write('src/warehouse/store.ts', `import { command } from '../commands/run.js'\nexport const store = command\n`)
    write('src/core/errors.ts', `import type { Settings } from '../config/settings.js'\nexport type E = Settings\n`)
    write('src/config/settings.ts', `export interface Settings { url: string }\n`)
    // Down: allowed.
    write('src/commands/run.ts', `import { url } from '../pipeline/a.js'\nexport const command = url\n`)
    // A cycle whose back edge is type-only.
    write('src/pipeline/a.ts', `import { b } from './b.js'\nexport const url = b\nexport type A = string\n`)
    write('src/pipeline/b.ts', `import type { A } from './a.js'\nexport const b: A = 'b'\n`)

    const cruise = spawnSync(
      join(ROOT, 'node_modules', '.bin', 'depcruise'),
      ['src', '--config', join(ROOT, '.dependency-cruiser.js'), '--output-type', 'json'],
      { cwd: tree, encoding: 'utf8' },
    )
    const { summary } = JSON.parse(cruise.stdout) as {
      summary: { violations: { from: string; to: string; rule: { name: string } }[] }
    }
    const found = summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort()
    expect(found).toEqual([
      'layer-core: src/core/errors.ts → src/config/settings.ts',
      'layer-warehouse: src/warehouse/store.ts → src/commands/run.ts',
      'no-cycle: src/pipeline/a.ts → src/pipeline/b.ts',
    ])
  })
})
