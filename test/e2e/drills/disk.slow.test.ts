/**
 * Slow drills (`npm run drills`) of the embedded data directory's disk: read-only (a read-only bind
 * mount: root cannot write there either, unlike a chmod) and full (a tmpfs a few MB larger than the
 * database). Mounting needs root, as in the CI container; elsewhere these drills fail saying so.
 */
import { execFileSync } from 'node:child_process'
import { cp, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../../helpers/cli.js'
import {
  cleanupDrills,
  expectCleanFailure,
  isRoot,
  onCleanup,
  tempDir,
  writeHistoryLanding,
} from '../../helpers/drills.js'

const mount = (...args: string[]) => execFileSync('mount', args, { stdio: 'pipe' })

beforeAll(() => {
  if (!isRoot()) throw new Error('These drills mount file systems: run them as root (the CI container does).')
})
afterAll(cleanupDrills)

/** A folder holding a migrated copy of the template data directory at `<folder>/data`. */
async function dataDirIn(folder: string): Promise<string> {
  const dir = join(folder, 'data')
  await mkdir(dir)
  await cp(join(process.env.CRYPTO_ETL_TEST_TEMPLATE!, 'pgdata'), join(dir, 'pgdata'), { recursive: true })
  expect((await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: dir } })).code).toBe(0)
  return dir
}

describe('a read-only file system under the embedded data directory', () => {
  let folder: string
  let dir: string
  beforeAll(async () => {
    folder = await tempDir('readonly')
    dir = await dataDirIn(folder)
    mount('--bind', folder, folder)
    onCleanup(async () => execFileSync('umount', [folder]))
    mount('-o', 'remount,ro,bind', folder)
  })

  it.each([['migrate'], ['run'], ['query']])('%s exits 74 naming the directory and EROFS', async (command) => {
    const r = await runCli([command], { env: { CRYPTO_ETL_DATA_DIR: dir, COINCAP_API_URL: 'http://127.0.0.1:1/v3' } })
    const [line] = expectCleanFailure(r, 74)
    expect(line).toContain(dir)
    expect(line).toContain('EROFS')
  })

  it('exits 74 with the real reason when a new data directory would be created there', async () => {
    const fresh = join(folder, 'fresh')
    const r = await runCli(['migrate'], { env: { CRYPTO_ETL_DATA_DIR: fresh } })
    const [line] = expectCleanFailure(r, 74)
    expect(line).toBe(`Error: Cannot create the data directory ${fresh}: EROFS.`)
  })
})

describe('a full disk under the embedded data directory', () => {
  let file: string
  beforeAll(async () => {
    file = await writeHistoryLanding(join(await tempDir('full_landing'), 'history.ndjson'), 300, 1000)
  })

  /** A migrated data directory (about 40 MB) on a tmpfs of `size` MB. */
  async function dataDirOnTmpfs(size: number): Promise<{ folder: string; dir: string }> {
    const folder = await tempDir('full')
    mount('-t', 'tmpfs', '-o', 'size=400m', 'tmpfs', folder)
    onCleanup(async () => execFileSync('umount', ['-l', folder]))
    const dir = await dataDirIn(folder)
    mount('-o', `remount,size=${size}m`, folder)
    return { folder, dir }
  }

  /** With room again, the same load adds the whole file: the failed one kept nothing. */
  async function loadsWholeWithRoom(folder: string, dir: string): Promise<void> {
    mount('-o', 'remount,size=400m', folder)
    const again = await runCli(['load', file, '--json'], { env: { CRYPTO_ETL_DATA_DIR: dir }, timeoutMs: 120_000 })
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout).rows).toEqual({ history: 300_000 })
  }

  it('refuses to open a nearly full disk: exit 74 at once, then loads the file whole once there is room', async () => {
    // About 8 MB free: below the 64 MiB the embedded database needs.
    const { folder, dir } = await dataDirOnTmpfs(48)
    const full = await runCli(['load', file], { env: { CRYPTO_ETL_DATA_DIR: dir }, timeoutMs: 45_000 })
    const [line] = expectCleanFailure(full, 74)
    expect(line).toMatch(
      new RegExp(`^Error: The disk of the embedded database in ${dir} is almost full: \\d+ MiB free`),
    )
    await loadsWholeWithRoom(folder, dir)
  })

  it('stops a load whose rows fill the disk: exit 74, nothing kept, then loads the file whole', async () => {
    // About 100 MB free at the start; the 300,000 rows and their WAL take about 120 MB.
    const { folder, dir } = await dataDirOnTmpfs(140)
    const full = await runCli(['load', file], { env: { CRYPTO_ETL_DATA_DIR: dir }, timeoutMs: 45_000 })
    const [line] = expectCleanFailure(full, 74)
    expect(line).toMatch(/is almost full: \d+ MiB free, 64 MiB needed\.$/)
    await loadsWholeWithRoom(folder, dir)
  })
})
