// The generated parts of docs/: the command reference (docs/commands.md), written by `oclif readme` from the
// built commands (their summaries, flags, descriptions and examples), so it cannot drift from --help.
//
//   node scripts/docs.js            rewrite the generated files (npm run docs; run npm run build first)
//   node scripts/docs.js --check    exit 1 naming each generated file that differs from what it would be now
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COMMANDS = join(ROOT, 'docs', 'commands.md')

/** Writes the command reference between the `<!-- commands -->` markers of `file`. */
function writeCommandReference(file) {
  const oclif = join(ROOT, 'node_modules', '.bin', 'oclif')
  // oclif wraps help at COLUMNS (else 120): pinned, so the file does not depend on the terminal it was made in.
  // Its check for a newer oclif on the registry is no business of this script.
  execFileSync(oclif, ['readme', '--readme-path', file, '--no-source-links', '--no-aliases'], {
    cwd: ROOT,
    env: { ...process.env, COLUMNS: '120', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

const generated = [{ file: COMMANDS, write: writeCommandReference }]

if (process.argv.includes('--check')) {
  const scratch = mkdtempSync(join(tmpdir(), 'crypto-etl-docs-'))
  try {
    const stale = generated.filter(({ file, write }) => {
      const fresh = join(scratch, 'fresh.md')
      copyFileSync(file, fresh)
      write(fresh)
      return readFileSync(fresh, 'utf8') !== readFileSync(file, 'utf8')
    })
    for (const { file } of stale) {
      console.error(`${relative(ROOT, file)} is stale: run npm run build && npm run docs, and commit the result.`)
    }
    process.exitCode = stale.length > 0 ? 1 : 0
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
} else {
  for (const { file, write } of generated) write(file)
}
