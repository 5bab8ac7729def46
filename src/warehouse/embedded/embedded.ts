/**
 * The embedded default: PGlite in the data directory, served over a Unix socket in a private
 * temporary folder so postgres.js can speak to it like any server. One process at a time per data
 * directory, enforced by a lock file.
 */
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { setTimeout } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import type { PGlite } from '@electric-sql/pglite'
import lockfile from 'proper-lockfile'
import { DatabaseError } from '../../core/errors.js'
import { assertFreeSpace } from './disk.js'
import { readSeed } from './embedded-seed.js'

/** Exit 74: another crypto-etl process has the embedded data directory open. */
export class DataDirLockedError extends DatabaseError {
  constructor(dataDir: string) {
    super(
      `Another crypto-etl process is using the embedded database in ${dataDir}.`,
      'Wait for it to finish, or point --data-dir elsewhere.',
    )
  }
}

export interface EmbeddedServer {
  socketPath: string
  dataDir: string
  /** How this call created the database on first use of the data directory: from the shipped seed or by initdb. */
  createdFrom?: 'seed' | 'initdb'
  stop(): Promise<void>
}

const PGDATA = 'pgdata'

/** Whether `dataDir` already holds an embedded database (so opening it will not create one). */
export function embeddedExists(dataDir: string): boolean {
  return existsSync(join(dataDir, PGDATA))
}

/**
 * Takes the data directory's lock, waiting up to `waitMs` for another holder; `onCompromised` hears when the
 * lock is lost later (its file removed or taken over). The lock is the one arbiter of who owns the database.
 * @throws DataDirLockedError when it is still held after `waitMs`.
 */
export async function acquireLock(
  dataDir: string,
  waitMs: number,
  onCompromised: (error: Error) => void = () => {},
): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs
  for (;;) {
    try {
      return await lockfile.lock(dataDir, {
        lockfilePath: join(dataDir, 'lock'),
        // A lock not refreshed for 10 s belongs to a process that died: it is taken over.
        stale: 10_000,
        // Retried here, on ELOCKED only: proper-lockfile would also retry EACCES or EROFS, which never heal.
        retries: 0,
        onCompromised,
      })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ELOCKED' && Date.now() < deadline) {
        await setTimeout(250)
        continue
      }
      if (code === 'ELOCKED') throw new DataDirLockedError(dataDir)
      throw new DatabaseError(
        `Cannot lock the data directory ${dataDir}: ${code ?? (error as Error).message}.`,
        'Choose a data directory this user can write to (--data-dir / CRYPTO_ETL_DATA_DIR).',
        { cause: error },
      )
    }
  }
}

/**
 * Creates `dir` and its parents, exit 74 naming the reason when it cannot.
 */
export async function makeDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (error) {
    let code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') code = await firstMissingFolderError(dir)
    throw new DatabaseError(
      `Cannot create the data directory ${dir}: ${code}.`,
      'Choose a writable --data-dir / CRYPTO_ETL_DATA_DIR.',
    )
  }
}

/**
 * Node's recursive mkdir reports ENOENT where a parent cannot be made (a read-only disk, say): making the
 * first missing folder of `dir` alone tells the real reason.
 */
async function firstMissingFolderError(dir: string): Promise<string | undefined> {
  let missing = dir
  while (dirname(missing) !== missing && !existsSync(dirname(missing))) missing = dirname(missing)
  return mkdir(missing).then(
    () => 'ENOENT',
    (error: NodeJS.ErrnoException) => error.code,
  )
}

/**
 * Added to PGlite's own start parameters (single-user mode, fsync off). PGlite zeroes Postgres's shared
 * memory in WebAssembly at every start: the default 128 MB of shared buffers cost about 0.5 s and 120 MiB
 * there, and one command's work fits in 16 MB (docs/benchmarks.md).
 */
const START_SETTINGS = ['-c', 'shared_buffers=16MB']

/**
 * Keeps V8 from recompiling PGlite's WebAssembly with its optimizing compiler: for a process that opens the
 * database, runs a few statements and ends, that compilation doubled the CPU time and added about 70 MiB
 * (docs/benchmarks.md). Process-wide, so it is set before PGlite is first loaded.
 */
function useBaselineWasmCompiler(): void {
  setFlagsFromString('--liftoff-only')
}

/** Opens the database of `dataDir` (creating it from the seed on first use) with the start settings above. */
export async function openPglite(
  dataDir: string,
  seed: string | undefined,
): Promise<{ db: PGlite; createdFrom?: 'seed' | 'initdb' }> {
  useBaselineWasmCompiler()
  const { PGlite } = await import('@electric-sql/pglite')
  const startParams = [...PGlite.defaultStartParams, ...START_SETTINGS]
  const target = join(dataDir, PGDATA)
  if (existsSync(target)) return { db: await PGlite.create(target, { startParams }) }
  // Create in a scratch folder and rename, so an interrupted first run never leaves a half-made database.
  const scratch = join(dataDir, `${PGDATA}.creating`)
  await rm(scratch, { recursive: true, force: true })
  const loadDataDir = await readSeed(seed)
  const fresh = await PGlite.create(scratch, loadDataDir ? { loadDataDir, startParams } : { startParams })
  await fresh.close()
  await rename(scratch, target)
  return { db: await PGlite.create(target, { startParams }), createdFrom: loadDataDir ? 'seed' : 'initdb' }
}

/**
 * Locks the data directory, opens (or creates) the database and serves it on a private socket.
 * @throws DataDirLockedError when another process holds the directory beyond `lockWaitMs`.
 */
export async function startEmbedded(
  dataDir: string,
  options: {
    lockWaitMs?: number
    /** The seed to create a new database from (default: the shipped one). */
    seed?: string
  } = {},
): Promise<EmbeddedServer> {
  await makeDataDir(dataDir)
  // Long enough to outlast the lock of a process that was killed (it turns stale after 10 s).
  const release = await acquireLock(dataDir, options.lockWaitMs ?? 12_000)
  let db: PGlite | undefined
  let socketDir: string | undefined
  try {
    await assertFreeSpace(dataDir)
    const opened = await openPglite(dataDir, options.seed)
    db = opened.db
    socketDir = await mkdtemp(join(tmpdir(), 'crypto-etl-'))
    const socketPath = join(socketDir, '.s.PGSQL.5432')
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
    const server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 })
    await server.start()
    const openDb = db
    const openSocketDir = socketDir
    let stopping: Promise<void> | undefined
    return {
      socketPath,
      dataDir,
      createdFrom: opened.createdFrom,
      stop() {
        stopping ??= (async () => {
          await server.stop().catch(() => {})
          await openDb.close().catch(() => {})
          await rm(openSocketDir, { recursive: true, force: true })
          await release().catch(() => {})
        })()
        return stopping
      },
    }
  } catch (error) {
    await db?.close().catch(() => {})
    if (socketDir) await rm(socketDir, { recursive: true, force: true })
    await release().catch(() => {})
    if (error instanceof DatabaseError) throw error
    throw new DatabaseError(
      `Cannot open the embedded database in ${dataDir}: ${(error as Error).message}.`,
      'Check that the data directory is writable and has free space.',
      { cause: error },
    )
  }
}
