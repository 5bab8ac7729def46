/** A mistyped command or flag: exit 2 and one line naming the closest command or flag of that command. */
import { describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'

describe('did you mean', () => {
  it.each([
    [['rnu'], 'Unknown command rnu. Did you mean run?'],
    [['stauts', '--json'], 'Unknown command stauts. Did you mean status?'],
    [['qurey'], 'Unknown command qurey. Did you mean query?'],
    [['migrat'], 'Unknown command migrat. Did you mean migrate?'],
    [['schedul', '--every', '5m'], 'Unknown command schedul. Did you mean schedule?'],
    [['nothing-like-it'], 'Unknown command nothing-like-it.'],
    [['run', '--dataset', 'assets'], 'Unknown flag --dataset. Did you mean --datasets?'],
    [['run', '--dataset=assets'], 'Unknown flag --dataset. Did you mean --datasets?'],
    [['query', '--limt', '3'], 'Unknown flag --limt. Did you mean --limit?'],
    [['prune', '--older-then', '30d'], 'Unknown flag --older-then. Did you mean --older-than?'],
    [['status', '--max-ag', '15m'], 'Unknown flag --max-ag. Did you mean --max-age?'],
    [['backfill', '--intervall', 'h1'], 'Unknown flag --intervall. Did you mean --interval?'],
    [
      ['migrate', '--databse-url', 'postgres://u:pw-hidden-1@h/db'],
      'Unknown flag --databse-url. Did you mean --database-url?',
    ],
    [['extract', '--zzzzzz'], 'Unknown flag --zzzzzz.'],
  ])('%j: exit 2, one line', async (args, line) => {
    const r = await runCli(args)
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
      code: 2,
      stderr: `Error: ${line}\n`,
      stdout: '',
    })
  })

  it('says it as one JSON line under --log-format json', async () => {
    for (const args of [
      ['rnu', '--log-format', 'json'],
      ['run', '--log-format=json', '--limt', '5'],
    ]) {
      const r = await runCli(args)
      expect(r.code).toBe(2)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toHaveLength(1)
      expect(JSON.parse(lines[0]!)).toMatchObject({
        level: 'error',
        exit_code: 2,
        msg: expect.stringMatching(/Did you mean/),
      })
    }
  })
})
