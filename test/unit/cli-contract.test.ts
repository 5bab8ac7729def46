/**
 * The command-line contract: users' crontabs name these commands and flags, so renaming one breaks them.
 * A change here must be deliberate (and said in docs/cli.md).
 */
import { describe, expect, it } from 'vitest'
import { BaseCommand } from '../../src/cli/base-command.js'

/** The flags that choose what `extract` and `run` fetch (sorted, as the commands' flags are compared). */
const SELECTION_FLAGS = [
  'assets',
  'datasets',
  'demo',
  'limit',
  'markets-base',
  'markets-exchange',
  'markets-limit',
  'markets-quote',
]

/** `json: false`: a command that serves until stopped, with no result to print. */
const COMMANDS: Record<string, { flags: string[]; args: string[]; json?: false }> = {
  backfill: { flags: ['assets', 'fill-gaps', 'from', 'interval', 'plan', 'to', 'top', 'window'], args: [] },
  dashboard: { flags: ['host', 'max-age', 'open', 'plan', 'port', 'refresh'], args: [], json: false },
  extract: { flags: [...SELECTION_FLAGS, 'output'], args: [] },
  load: { flags: ['allow-demo'], args: ['file'] },
  migrate: { flags: ['distributed'], args: [] },
  prune: { flags: ['datasets', 'dry-run', 'newer-than', 'older-than', 'run'], args: [] },
  query: {
    flags: [
      'asset',
      'chart',
      'currency',
      'exchange',
      'format',
      'interval',
      'limit',
      'points',
      'since',
      'sql',
      'symbol',
      'until',
    ],
    args: ['report'],
  },
  run: { flags: ['allow-demo', ...SELECTION_FLAGS, 'scheduled'], args: [] },
  schedule: { flags: ['budget', 'dataset-every', 'every', 'force', 'format', 'init', 'install', 'log-file'], args: [] },
  status: { flags: ['datasets', 'max-age', 'runs'], args: [] },
}

const GLOBAL_FLAGS = [
  'api-key',
  'api-url',
  'data-dir',
  'database-url',
  'env-file',
  'log-format',
  'quiet',
  'schema',
  'verbose',
]

describe('the command-line contract', () => {
  it('keeps the global flags of docs/cli.md on every command', () => {
    expect(Object.keys(BaseCommand.baseFlags).sort()).toEqual(GLOBAL_FLAGS)
  })

  it.each(Object.entries(COMMANDS))('keeps the flags and arguments of %s', async (name, expected) => {
    const command = (await import(`../../src/commands/${name}.ts`)).default
    expect(Object.keys(command.flags ?? {}).sort()).toEqual(expected.flags)
    expect(Object.keys(command.args ?? {})).toEqual(expected.args)
    expect(command.enableJsonFlag).toBe(expected.json ?? true)
    expect(command.summary).toBeTruthy()
    expect(command.examples?.length).toBeGreaterThan(0)
  })
})
