/**
 * The seed of the embedded database: a fresh PGlite data directory, made once when the package is packed
 * and shipped in it. Creating the database from it takes about half the time and under half the memory of
 * PGlite's own initdb (which peaks near 900 MiB: too much for a small server's first run). It is named by
 * the PGlite version that made it, and used only by that version; without it, PGlite creates the database
 * itself, as in a checkout.
 *
 * `node scripts/write-seed.js` writes it after a build (the `prepack` script does).
 */
import { existsSync, readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { packageRoot } from '../../core/paths.js'

/** The version of the installed PGlite, read from its package.json (which its exports do not list). */
function pgliteVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')))
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error("no package.json above PGlite's entry point")
    dir = dirname(dir)
  }
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version
}

/** Where the seed for the installed PGlite lives: `dist/pgdata-seed-<pglite version>.tar.gz`. */
export function seedPath(): string {
  return join(packageRoot(), 'dist', `pgdata-seed-${pgliteVersion()}.tar.gz`)
}

/** The seed as PGlite's `loadDataDir` takes it, or undefined when there is none for this PGlite. */
export async function readSeed(path?: string): Promise<Blob | undefined> {
  let file = path
  try {
    file ??= seedPath()
  } catch {
    return undefined // PGlite's version unknown: initdb, which always matches it
  }
  if (!existsSync(file)) return undefined
  return new Blob([await readFile(file)])
}

/** Makes a fresh database in memory and writes its data directory, gzipped, to `path`. */
export async function writeSeed(path = seedPath()): Promise<string> {
  const { PGlite } = await import('@electric-sql/pglite')
  const db = await PGlite.create()
  try {
    const dump = await db.dumpDataDir('gzip')
    await writeFile(path, Buffer.from(await dump.arrayBuffer()))
  } finally {
    await db.close()
  }
  return path
}
