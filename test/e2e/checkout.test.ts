import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanEnv, runSync as run } from '../helpers/cli.js'
import { copyWorkingTree, ROOT } from '../helpers/working-tree.js'

const work = mkdtempSync(join(tmpdir(), 'crypto-etl-checkout-'))
afterAll(() => rm(work, { recursive: true, force: true }))

describe('a checkout', () => {
  it('is runnable after npm ci (prepare builds dist and the oclif manifest, kept out of git): the README quick start works', () => {
    const clone = copyWorkingTree(join(work, 'clone'))
    // What npm ci runs once node_modules is installed.
    const prepare = run('npm', ['run', 'prepare'], { cwd: clone })
    expect(prepare.status, prepare.stderr).toBe(0)
    expect(existsSync(join(clone, 'oclif.manifest.json'))).toBe(true)
    const manifest = JSON.parse(readFileSync(join(clone, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>
    }
    const commands = readdirSync(join(clone, 'dist', 'commands')).filter((f) => f.endsWith('.js'))
    expect(Object.keys(manifest.commands).sort()).toEqual(commands.map((f) => f.replace(/\.js$/, '')).sort())
    expect(run('git', ['check-ignore', '-q', 'oclif.manifest.json'], { cwd: ROOT }).status).toBe(0)

    const cli = (args: string[], extra: Record<string, string> = {}) =>
      run(join(clone, 'bin', 'run.js'), args, { cwd: clone, env: cleanEnv(extra), timeout: 60_000 })
    // The CLI reads the manifest instead of importing every command, as the installed package does: a
    // summary changed in the manifest alone shows in the help.
    const version = cli(['--version'])
    expect(version.status, version.stderr).toBe(0)
    expect(version.stdout).toMatch(/^crypto-etl\/\d+\.\d+\.\d+ /)
    const marked = JSON.parse(readFileSync(join(clone, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, { summary?: string }>
    }
    marked.commands.status!.summary = 'summary read from the manifest'
    writeFileSync(join(clone, 'oclif.manifest.json'), JSON.stringify(marked))
    expect(cli(['--help']).stdout).toContain('summary read from the manifest')
    writeFileSync(join(clone, 'oclif.manifest.json'), JSON.stringify(manifest))

    // The README's quick start from a clone names exactly these commands.
    const readme = readFileSync(join(clone, 'README.md'), 'utf8')
    const quickStart = readme.slice(
      readme.indexOf('## Quick start'),
      readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1),
    )
    expect(quickStart).toContain('npm ci\n./bin/run.js run --demo')
    expect(quickStart).toMatch(/Node 22 or 24/)
    expect(JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')).engines.node).toMatch(/\^20\./)
    const data = { CRYPTO_ETL_DATA_DIR: join(work, 'data') }
    const demo = cli(['run', '--demo', '--json'], data)
    expect(demo.status, demo.stderr).toBe(0)
    expect(JSON.parse(demo.stdout)).toMatchObject({ status: 'ok' })
    const query = cli(['query', '--limit', '1', '--format', 'json'], data)
    expect(query.status, query.stderr).toBe(0)
    expect(JSON.parse(query.stdout)[0]).toMatchObject({ symbol: 'BTC' })
  }, 240_000)
})
