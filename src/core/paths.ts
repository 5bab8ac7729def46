/** Where the package's own files are, in a checkout and in the installed package alike. */
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root: two folders up from this file, in `src/core` and in `dist/core` alike. */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..')
}

/** The folder of shipped SQL (`migrations/`, `queries/`). */
export function sqlDir(): string {
  return join(packageRoot(), 'sql')
}
