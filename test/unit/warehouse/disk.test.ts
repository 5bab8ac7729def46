import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertFreeSpace, diskGuard, freeBytes } from '../../../src/warehouse/embedded/disk.js'
import { DatabaseError } from '../../../src/core/errors.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'crypto-etl-disk-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('free space of the embedded data directory', () => {
  it('passes while the disk has more than asked for', async () => {
    const free = await freeBytes(dir)
    expect(free).toBeGreaterThan(0)
    await expect(assertFreeSpace(dir, 1)).resolves.toBeUndefined()
  })

  it('fails with exit 74, naming the directory and the space, when the disk has less', async () => {
    const free = await freeBytes(dir)
    const error = await assertFreeSpace(dir, free * 2 + 1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DatabaseError)
    expect((error as DatabaseError).exitCode).toBe(74)
    expect((error as DatabaseError).message).toMatch(
      new RegExp(`^The disk of the embedded database in ${dir} is almost full: \\d+ MiB free, \\d+ MiB needed\\.$`),
    )
  })

  it('asks the file system at most once per interval, and never on a server', async () => {
    const missing = join(dir, 'gone')
    // statfs of a missing path fails: the first call asks, the second (within the interval) does not.
    const guard = diskGuard(missing, 60_000)
    await expect(guard()).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(guard()).resolves.toBeUndefined()
    await expect(diskGuard(undefined)()).resolves.toBeUndefined()
  })
})
