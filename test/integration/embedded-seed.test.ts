import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, describe, expect, it } from 'vitest'
import { startEmbedded } from '../../src/warehouse/embedded/embedded.js'
import { writeSeed } from '../../src/warehouse/embedded/embedded-seed.js'

const dirs: string[] = []
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'crypto-etl-seed-'))
  dirs.push(dir)
  return dir
}

describe('the embedded database seed', () => {
  it('creates a new data directory from the seed, which then opens and keeps its data like any other', async () => {
    const seed = await writeSeed(join(await tempDir(), 'seed.tar.gz'))
    const dataDir = join(await tempDir(), 'data')
    const first = await startEmbedded(dataDir, { seed })
    expect(first.createdFrom).toBe('seed')
    const sql = postgres({
      path: first.socketPath,
      max: 1,
      username: 'postgres',
      database: 'postgres',
      onnotice: () => {},
    })
    await sql`create table kept (n int)`
    await sql`insert into kept values (42)`
    await sql.end()
    await first.stop()

    const again = await startEmbedded(dataDir, { seed })
    expect(again.createdFrom).toBeUndefined()
    const reopened = postgres({ path: again.socketPath, max: 1, username: 'postgres', database: 'postgres' })
    expect(await reopened`select n from kept`).toEqual([{ n: 42 }])
    await reopened.end()
    await again.stop()
  }, 60_000)

  it('falls back to initdb when there is no seed for this PGlite', async () => {
    const server = await startEmbedded(join(await tempDir(), 'data'), { seed: join(tmpdir(), 'no-such-seed.tar.gz') })
    expect(server.createdFrom).toBe('initdb')
    await server.stop()
  }, 60_000)
})
