// The generated parts of docs/: the command reference (docs/commands.md), written by `oclif readme` from the
// built commands (their summaries, flags, descriptions and examples), so it cannot drift from --help; and the
// settings table of docs/settings.md, from the table of settings (src/config/settings-table.ts).
//
//   node scripts/docs.js            rewrite the generated files (npm run docs; run npm run build first)
//   node scripts/docs.js --check    exit 1 naming each generated file that differs from what it would be now
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const COMMANDS = join(ROOT, 'docs', 'commands.md')
const SETTINGS = join(ROOT, 'docs', 'settings.md')

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

const code = (text) => `\`${text}\``

/** The rows of the settings table: one per entry of the table, or per run of entries sharing their docs. */
function settingsRows(entries) {
  const rows = []
  for (const entry of entries) {
    const last = rows.at(-1)
    if (last && last.docs === entry.docs) last.entries.push(entry)
    else rows.push({ docs: entry.docs, entries: [entry] })
  }
  return rows.map(({ docs, entries }) => {
    const [first] = entries
    const flags = entries.filter((e) => e.flag).map((e) => code(`--${e.flag.name}`))
    const variables = entries.filter((e) => e.variable).map((e) => e.variable)
    const fallback = typeof first.default === 'string' ? code(first.default) : first.flag?.boolean ? 'off' : 'none'
    const cells = [
      flags.join(' '),
      variables.length ? code(variables.join(' ')) : '',
      docs.default ?? fallback,
      docs.meaning,
    ]
    return `|${cells.map((cell) => (cell ? ` ${cell} ` : ' ')).join('|')}|`
  })
}

/** Writes the settings table between the `<!-- settings:start -->` and `<!-- settings:end -->` lines of `file`. */
async function writeSettingsTable(file) {
  const { SETTING_ENTRIES: entries } = await import('../dist/config/settings-table.js')
  const table = [
    '<!-- settings:start -->',
    '<!-- Generated from the table of settings in src/config/settings-table.ts (npm run docs); edit that, not this table. -->',
    '',
    '| flag | environment | default | meaning |',
    '|---|---|---|---|',
    ...settingsRows(entries),
    '',
    '<!-- settings:end -->',
  ].join('\n')
  const text = readFileSync(file, 'utf8')
  const slot = /<!-- settings:start -->[\s\S]*<!-- settings:end -->/
  if (!slot.test(text)) throw new Error(`${relative(ROOT, file)} has no <!-- settings:start/end --> lines`)
  writeFileSync(
    file,
    text.replace(slot, () => table),
  )
}

const generated = [
  { file: COMMANDS, write: writeCommandReference },
  { file: SETTINGS, write: writeSettingsTable },
]

if (process.argv.includes('--check')) {
  const scratch = mkdtempSync(join(tmpdir(), 'crypto-etl-docs-'))
  try {
    const stale = []
    for (const { file, write } of generated) {
      const fresh = join(scratch, 'fresh.md')
      copyFileSync(file, fresh)
      await write(fresh)
      if (readFileSync(fresh, 'utf8') !== readFileSync(file, 'utf8')) stale.push({ file })
    }
    for (const { file } of stale) {
      console.error(`${relative(ROOT, file)} is stale: run npm run build && npm run docs, and commit the result.`)
    }
    process.exitCode = stale.length > 0 ? 1 : 0
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
} else {
  for (const { file, write } of generated) await write(file)
}
