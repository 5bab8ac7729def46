/**
 * Signals end every wait: a `load` from a FIFO no one writes to (its open waited in a worker thread that
 * even process.exit waited for: still hung after 11 minutes), from a FIFO whose writer goes quiet, and
 * from a stdin that never closes. Each exits 143 within a second of SIGTERM, one error line, the load
 * recorded `interrupted` once it had started.
 */
import { type ChildProcess, execFileSync } from 'node:child_process'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type CliResult, startCli } from '../../helpers/cli.js'
import {
  cleanupDrills,
  type DrillTarget,
  expectCleanFailure,
  prepareTarget,
  tempDir,
  waitFor,
} from '../../helpers/drills.js'

afterAll(cleanupDrills)

/** Starts `crypto-etl load <file>` with stdin kept open; resolves when it exits, with the time since its signal. */
function startLoad(
  t: DrillTarget,
  file: string,
): { child: ChildProcess; done: Promise<CliResult & { sinceSignal: number }> } {
  const { child, done } = startCli(['load', file], { env: t.env, holdStdin: true })
  let signalled = 0
  const kill = child.kill.bind(child)
  child.kill = (signal?: NodeJS.Signals | number) => ((signalled = performance.now()), kill(signal))
  return { child, done: done.then((r) => ({ ...r, sinceSignal: performance.now() - signalled })) }
}

async function fifo(label: string): Promise<string> {
  const path = join(await tempDir(label), 'landing.fifo')
  execFileSync('mkfifo', [path])
  return path
}

describe('SIGTERM ends every wait of load', () => {
  it('a FIFO no one writes to: 143 at once, before any run is recorded', async () => {
    const t = await prepareTarget('server', 'fifo_no_writer')
    const { child, done } = startLoad(t, await fifo('nowriter'))
    await new Promise((r) => setTimeout(r, 1500))
    child.kill('SIGTERM')
    const r = await done
    expect(expectCleanFailure(r, 143)).toEqual(['Error: Interrupted by SIGTERM.'])
    expect(r.sinceSignal).toBeLessThan(2000)
  })

  it.each(['a FIFO whose writer goes quiet', 'a stdin that never closes'])(
    '%s: 143 within a second, the load recorded interrupted',
    async (what) => {
      const t = await prepareTarget('server', 'quiet_writer')
      const stdin = what.includes('stdin')
      const path = stdin ? '-' : await fifo('quiet')
      const { child, done } = startLoad(t, path)
      const writer = stdin ? undefined : await open(path, 'w')
      // One line, then silence: the load has begun and waits for the next.
      const line = `${JSON.stringify({ dataset: 'rates', timestamp: Date.now(), data: [] })}\n`
      if (writer) await writer.write(line)
      else child.stdin!.write(line)
      // The load has started once its run is recorded; then it waits for a line that never comes.
      const running = "select count(*)::int as n from etl_runs where status = 'running'"
      await waitFor(async () => (await t.query<{ n: number }>(running))[0]?.n === 1)
      child.kill('SIGTERM')
      const r = await done
      await writer?.close()
      expect(expectCleanFailure(r, 143)).toEqual(['Error: Interrupted by SIGTERM.'])
      expect(r.sinceSignal).toBeLessThan(1000)
      expect(await t.query('select command, status, error from etl_runs')).toEqual([
        { command: 'load', status: 'interrupted', error: 'Interrupted by SIGTERM.' },
      ])
    },
  )
})
