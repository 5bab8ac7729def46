/**
 * Every command that reads or writes the warehouse names it: one `Warehouse: ...` line on stderr for people,
 * `target` in `--json` (password never shown), on the Postgres server and on the embedded database.
 */
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { TEST_DATABASE_URL } from '../helpers/env.js'
import { Scratch } from '../helpers/scratch.js'
import { useScratchCoincap } from '../helpers/use-coincap.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'

const API_KEY = 'target-secret-key-8086'
const PASSWORD = 'target-db-password-2718'
const scratch = new Scratch()
const api = useScratchCoincap(scratch)

interface Setup {
  env: Record<string, string>
  /** The `Warehouse:` line people read, and the `target` of `--json`. */
  line: string
  target: string
}

/** The server with a password in its URL (trust auth ignores it), or an embedded data directory under HOME. */
async function setup(target: Target): Promise<Setup> {
  const { schema, env, dir } = await scratch.warehouse(target, `target_${target}`, {
    COINCAP_API_URL: api.server.url,
    COINCAP_API_KEY: API_KEY,
  })
  if (target === 'server') {
    const url = new URL(TEST_DATABASE_URL)
    url.password = PASSWORD
    const named = `postgres://${url.username}@${url.hostname}:${url.port || 5432}${url.pathname} schema ${schema}`
    return { env: { ...env, DATABASE_URL: url.href }, line: `Warehouse: ${named}`, target: named }
  }
  const home = dirname(dir!)
  return {
    env: { ...env, HOME: home },
    line: `Warehouse: embedded: ~/${dir!.slice(home.length + 1)} schema ${schema}`,
    target: `embedded: ${dir} schema ${schema}`,
  }
}

const landing = async () => join(await scratch.folder('target'), 'snapshot.ndjson')

describe.each(TARGETS)('on the %s database', (target) => {
  let t: Setup
  beforeAll(async () => {
    t = await setup(target)
  })

  const commands: [string, () => string[]][] = [
    ['migrate', () => ['migrate']],
    ['run', () => ['run', '--datasets', 'assets,rates']],
    ['load', () => ['load', file]],
    ['backfill', () => ['backfill', '--assets', 'bitcoin', '--interval', 'h1', '--from', '2d']],
    ['prune', () => ['prune', '--older-than', '3000d']],
    ['query', () => ['query']],
    ['status', () => ['status']],
  ]
  let file = ''

  it.each(commands)('%s names the warehouse on stderr, and in --json as target', async (_, args) => {
    if (!file) {
      file = await landing()
      const extract = await runCli(['extract', '--datasets', 'exchanges', '--output', file], { env: t.env })
      expect(extract.code, extract.stderr).toBe(0)
      expect(extract.stderr).not.toContain('Warehouse:')
    }
    const human = await runCli(args(), { env: t.env })
    expect(human.code, human.stderr).toBe(0)
    expect(human.stderr.split('\n').filter((l) => l.startsWith('Warehouse:'))).toEqual([t.line])
    const json = await runCli([...args(), '--json'], { env: t.env })
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout).target).toBe(t.target)
    for (const r of [human, json]) expect(r.stdout + r.stderr).not.toMatch(new RegExp(`${PASSWORD}|${API_KEY}`))
  })

  it('query --format csv and json keep stdout machine-clean: the name goes to stderr', async () => {
    for (const format of ['csv', 'json']) {
      const r = await runCli(['query', '--format', format], { env: t.env })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe(`${t.line}\n`)
      expect(r.stdout).not.toContain('Warehouse')
    }
  })

  it('under --log-format json the name is a JSON line with target', async () => {
    const r = await runCli(['status', '--log-format', 'json'], { env: t.env })
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.find((l) => l.msg === 'warehouse')?.target).toBe(t.target)
  })
})
