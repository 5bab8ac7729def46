import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The package root: three folders up from this file, in `src/warehouse/embedded` and in `dist/warehouse/embedded` alike. */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
}

/** The folder of shipped SQL (`migrations/`, `queries/`). */
export function sqlDir(): string {
  return join(packageRoot(), 'sql')
}
