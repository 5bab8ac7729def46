/**
 * The repository the tests run from, and a copy of its working tree as a fresh clone would have it: for
 * tests that build or pack without touching the `dist/` other tests are using.
 */
import { cpSync, symlinkSync } from 'node:fs'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** What a clone has not: npm ci makes node_modules (linked instead), prepare makes dist and the manifest. */
const NOT_IN_A_CLONE = new Set(['node_modules', 'dist', '.git', 'scratch', 'coverage', 'oclif.manifest.json'])

/** Copies the working tree to `dest` as a clone would have it, with this checkout's node_modules linked in. */
export function copyWorkingTree(dest: string): string {
  cpSync(ROOT, dest, { recursive: true, filter: (src) => !NOT_IN_A_CLONE.has(relative(ROOT, src).split(sep)[0]!) })
  symlinkSync(join(ROOT, 'node_modules'), join(dest, 'node_modules'))
  return dest
}
