/**
 * Demo data never lands unmarked among real data: a Postgres server refuses it without --allow-demo (run
 * --demo, and a load of lines written by extract --demo); the embedded database takes it, labelled, so the
 * quick start (`run --demo`, then `query`) works and says the prices are made up.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { schemaExists } from '../helpers/inspect.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS, type Target } from '../helpers/warehouse.js'

const scratch = new Scratch()
afterAll(() => scratch.cleanup())

const prepare = (target: Target) => scratch.warehouse(target, `demo_${target}`)

const DEMO_NOTICE =
  /^warn: demo data \(made-up prices\) from run (\d+) is in this warehouse; remove it: crypto-etl prune --run \1$/m

describe('demo data on the server', () => {
  it.each([[['run', '--demo']], [['run', '--demo', '--datasets', 'rates']]])(
    'refuses %j with exit 2 before touching the database',
    async (args) => {
      const t = await prepare('server')
      const r = await runCli(args, { env: t.env })
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(
        'Error: run --demo brings made-up prices: refused on a Postgres server, where they would mix with real data.',
      )
      expect(r.stderr).toContain('--allow-demo')
      expect(await schemaExists(scratch.admin, t.schema)).toBe(false)
    },
  )

  it('loads run --demo with --allow-demo, labelled, and query says so', async () => {
    const t = await prepare('server')
    const r = await runCli(['run', '--demo', '--allow-demo'], { env: t.env })
    expect(r.code, r.stderr).toBe(0)
    const [run] = await t.query<{ run_id: string; command: string }>('select run_id, command from etl_runs')
    expect(run?.command).toBe('run --demo')
    const q = await runCli(['query'], { env: t.env })
    expect(q.code).toBe(0)
    expect(DEMO_NOTICE.exec(q.stderr)?.[1]).toBe(run?.run_id)
  })

  it('refuses to load extract --demo lines from stdin without --allow-demo, loading nothing', async () => {
    const t = await prepare('server')
    const extracted = await runCli(['extract', '--demo', '--datasets', 'assets,rates'], { env: t.env })
    expect(extracted.code).toBe(0)
    const refused = await runCli(['load', '-'], { env: t.env, input: extracted.stdout })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(
      'Error: stdin line 1 (from extract --demo) brings made-up prices: refused on a Postgres server',
    )
    expect(await t.count('asset_snapshots')).toBe(0)
    expect(await t.count('rate_snapshots')).toBe(0)
  })
})

describe.each(TARGETS)('demo landing lines on the %s database', (target) => {
  it('labels every line of extract --demo, and only those', async () => {
    const t = await prepare(target)
    const demo = await runCli(['extract', '--demo', '--datasets', 'assets,exchanges,rates'], { env: t.env })
    expect(demo.code).toBe(0)
    const lines = demo.stdout.trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(3)
    expect(lines.every((l) => JSON.parse(l).demo === true)).toBe(true)
  })

  it('keeps the demo label through extract --demo | load -, and query says the prices are made up', async () => {
    const t = await prepare(target)
    const extracted = await runCli(['extract', '--demo', '--datasets', 'assets,rates'], { env: t.env })
    const allow = target === 'server' ? ['--allow-demo'] : []
    const loaded = await runCli(['load', '-', ...allow, '--json'], { env: t.env, input: extracted.stdout })
    expect(loaded.code, loaded.stderr).toBe(0)
    expect(JSON.parse(loaded.stdout)).toMatchObject({ demo: true, rows: { assets: 100 } })
    const [run] = await t.query<{ run_id: string; command: string }>('select run_id, command from etl_runs')
    expect(run?.command).toBe('load --demo')
    const q = await runCli(['query', 'latest', '--json'], { env: t.env })
    expect(q.code).toBe(0)
    expect(JSON.parse(q.stdout).demoRuns).toEqual([Number(run?.run_id)])
  })
})

describe('the quick start on the embedded database', () => {
  it('runs the demo and shows it with query, labelled', async () => {
    const t = await prepare('embedded')
    const r = await runCli(['run', '--demo'], { env: t.env })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/Demo data, labelled 'run --demo' in etl_runs/)
    const q = await runCli(['query'], { env: t.env })
    expect(q.code).toBe(0)
    expect(q.stderr).toMatch(DEMO_NOTICE)
    expect(q.stdout).toContain('Bitcoin')
  })
})
