import { mkdtempSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanEnv, runSync as run } from '../helpers/cli.js'
import { copyWorkingTree, ROOT } from '../helpers/working-tree.js'

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))

const work = mkdtempSync(join(tmpdir(), 'crypto-etl-pack-'))
afterAll(() => rm(work, { recursive: true, force: true }))

interface PackInfo {
  filename: string
  size: number
  unpackedSize: number
  entryCount: number
  files: { path: string; size: number }[]
}

describe('the npm package', () => {
  it('packs into a small tarball that installs into an empty prefix and answers --version, --help, migrate and run --demo', () => {
    // Pack a copy of the working tree, so the build prepack runs never swaps the dist/ other tests are using.
    const copy = copyWorkingTree(join(work, 'tree'))
    const pack = run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: copy })
    expect(pack.status, pack.stderr).toBe(0)
    // `oclif manifest` (in prepack) prints a line before npm's JSON.
    const [info] = JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m))) as PackInfo[]
    const paths = info!.files.map((f) => f.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'bin/run.js',
        'oclif.manifest.json',
        'sql/migrations/00001_warehouse.sql',
        'dist/commands/run.js',
        'dist/commands/schedule.js',
        // The dashboard's page, built: it needs nothing from the network.
        'dist/web/index.html',
        'dist/web/app.js',
        'dist/web/app.css',
        'sql/migrations/00005_bi_views.sql',
        'package.json',
      ]),
    )
    expect(paths.filter((p) => /^(src|web|test|bench|scratch|node_modules)\//.test(p))).toEqual([])
    // Only what an installed CLI runs: no source maps, no entry point that needs the dev dependencies (bin/dev.js
    // runs the TypeScript source through tsx), no fixtures of the tests; the licence its package.json names.
    expect(paths.filter((p) => p.endsWith('.map'))).toEqual([])
    expect(paths.filter((p) => p.startsWith('bin/'))).toEqual(['bin/run.js'])
    expect(paths.filter((p) => p.startsWith('fixtures/')).sort()).toEqual([
      'fixtures/README.md',
      'fixtures/coincap/assets.json',
      'fixtures/coincap/exchanges.json',
      'fixtures/coincap/history-bitcoin-h1.json',
      'fixtures/coincap/markets.json',
      'fixtures/coincap/rates.json',
    ])
    expect(paths).toContain('LICENSE')
    const manifest = JSON.parse(readFileSync(join(copy, 'package.json'), 'utf8'))
    expect(manifest).toMatchObject({
      license: 'MIT',
      repository: { url: 'git+https://github.com/crypto-etl/crypto-etl.git' },
      homepage: 'https://github.com/crypto-etl/crypto-etl#readme',
      bugs: { url: 'https://github.com/crypto-etl/crypto-etl/issues' },
    })
    // The code stays under 1 MB; the seed of the embedded database (a fresh data directory) is its own budget.
    const seed = info!.files.filter((f) => /^dist\/pgdata-seed-\d+\.\d+\.\d+\.tar\.gz$/.test(f.path))
    expect(seed).toHaveLength(1)
    expect(seed[0]!.size).toBeLessThan(6_000_000)
    expect(info!.size - seed[0]!.size).toBeLessThan(1_000_000)

    const prefix = join(work, 'prefix')
    const started = performance.now()
    const install = run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        join(work, info!.filename),
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: work },
    )
    const installMs = Math.round(performance.now() - started)
    expect(install.status, install.stderr).toBe(0)
    console.log(
      `crypto-etl ${version}: tarball ${info!.size} bytes (${info!.unpackedSize} unpacked, ${info!.entryCount} files); npm install --global into an empty prefix: ${installMs} ms`,
    )

    // The installed command, from a folder outside the repository, as a user would run it.
    const bin = join(prefix, 'bin', 'crypto-etl')
    const cli = (args: string[], extra: Record<string, string> = {}) =>
      // vitest's NODE_ENV=test stays: the installed CLI must not look for TypeScript sources (and warn) even so.
      run(bin, args, { cwd: work, env: cleanEnv(extra), timeout: 60_000 })
    const versionOut = cli(['--version'])
    expect(versionOut.status, versionOut.stderr).toBe(0)
    expect(versionOut.stdout).toMatch(new RegExp(`^crypto-etl/${version.replaceAll('.', '\\.')} `))
    const help = cli(['--help'])
    expect(help.status, help.stderr).toBe(0)
    for (const command of ['run', 'migrate', 'schedule']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'))
    const migrate = cli(['migrate', '--verbose'], { CRYPTO_ETL_DATA_DIR: join(work, 'data') })
    expect(migrate.status, migrate.stderr).toBe(0)
    expect(migrate.stdout).toMatch(/^applied 00001_warehouse$/m)
    // Created from the shipped seed, not by PGlite's initdb (twice the time, over twice the memory).
    expect(migrate.stderr).toMatch(/^debug: connected .*createdFrom=seed/m)
    // The demo needs nothing but the package: its fixtures, a loopback server and the embedded database.
    const demo = cli(['run', '--demo', '--json'], { CRYPTO_ETL_DATA_DIR: join(work, 'data') })
    expect(demo.status, demo.stderr).toBe(0)
    expect(JSON.parse(demo.stdout)).toMatchObject({
      status: 'ok',
      datasets: [
        { dataset: 'assets', rows: 100 },
        { dataset: 'exchanges', rows: 14 },
        { dataset: 'rates', rows: 16 },
      ],
    })
    // The README's first look: the demo's prices as a table's rows, labelled as made up.
    const query = cli(['query', '--limit', '3', '--format', 'json'], { CRYPTO_ETL_DATA_DIR: join(work, 'data') })
    expect(query.status, query.stderr).toBe(0)
    expect(JSON.parse(query.stdout).map((r: { symbol: string }) => r.symbol)).toEqual(['BTC', 'ETH', 'USDT'])
    const runId = JSON.parse(demo.stdout).runId as number
    expect(query.stderr).toBe(
      `warn: demo data (made-up prices) from run ${runId} is in this warehouse; remove it: crypto-etl prune --run ${runId}\n` +
        `Warehouse: embedded: ${join(work, 'data')} schema coincap\n`,
    )
  }, 240_000)
})
