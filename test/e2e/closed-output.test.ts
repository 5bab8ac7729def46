/**
 * A reader that goes away (`crypto-etl run | head -1`) does not stop the work: the run loads every dataset,
 * records itself `ok` and exits 0, with nothing more written.
 */
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { Scratch } from '../helpers/scratch.js'
import { TARGETS } from '../helpers/warehouse.js'

const scratch = new Scratch()
afterAll(() => scratch.cleanup())

/** Closes the reading ends of the child's stdout and stderr once it has written its first line to stderr. */
function leaveAfterFirstLine(child: ChildProcess): void {
  child.stderr?.once('data', () => {
    child.stdout?.destroy()
    child.stderr?.destroy()
  })
}

describe.each(TARGETS)('output closed by its reader, on the %s database', (target) => {
  it('run --demo loads every dataset, records the run ok and exits 0', async () => {
    const t = await scratch.warehouse(target, `closed_${target}`)
    const r = await runCli(['run', '--demo', '--allow-demo'], { env: t.env, onSpawn: leaveAfterFirstLine })
    expect(r.code).toBe(0)
    expect(await t.query('select command, status, rows from etl_runs')).toEqual([
      { command: 'run --demo', status: 'ok', rows: { assets: 100, exchanges: 14, rates: 16 } },
    ])
    expect(
      await Promise.all(['asset_snapshots', 'exchange_snapshots', 'rate_snapshots'].map((table) => t.count(table))),
    ).toEqual([100, 14, 16])
  })

  it('query exits 0 when its reader has gone before the first row', async () => {
    const t = await scratch.warehouse(target, `closed_q_${target}`)
    expect((await runCli(['run', '--demo', '--allow-demo'], { env: t.env })).code).toBe(0)
    const r = await runCli(['query', 'latest', '--limit', '100'], {
      env: t.env,
      onSpawn: (child) => child.stdout?.destroy(),
    })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.not.stringContaining('EPIPE') })
  })
})
