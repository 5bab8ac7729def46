/**
 * Landing-file drills: `load` given broken, oversized, binary or hostile lines refuses the file cleanly
 * (exit 65 naming the line, nothing from the file loaded), and hostile values inside valid lines are stored
 * as values.
 */
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { MAX_LINE_BYTES } from '../../../src/pipeline/landing.js'
import { runCli } from '../../helpers/cli.js'
import { cleanupDrills, type DrillTarget, expectCleanFailure, prepareTarget, tempDir } from '../../helpers/drills.js'
import { TARGETS, type Target } from '../../helpers/warehouse.js'

afterAll(cleanupDrills)

const T = 1_768_478_400_000 // 2026-01-15T12:00:00Z
const rate = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  symbol: 'EUR',
  currencySymbol: '€',
  type: 'fiat',
  rateUsd: '1.08',
  ...extra,
})
/** A valid first line: if anything of the file were loaded, rate_snapshots would not be empty. */
const GOOD = JSON.stringify({ dataset: 'rates', timestamp: T, data: [rate('euro'), rate('yen', { symbol: 'JPY' })] })

async function landing(name: string, content: string | Buffer): Promise<string> {
  const path = join(await tempDir('landing'), name)
  await writeFile(path, content)
  return path
}

/** Loads `file` and expects exit 65, one error naming `line`, and nothing of the file in the tables. */
async function expectRefused(t: DrillTarget, file: string, reason: string): Promise<void> {
  const r = await runCli(['load', file], { env: t.env, timeoutMs: 60_000 })
  const block = expectCleanFailure(r, 65)
  expect(block[0]).toBe(`Error: ${file} ${reason}. Nothing from this file was loaded.`)
  expect(await t.count('rate_snapshots')).toBe(0)
  const [run] = await t.query<{ command: string; status: string }>('select command, status from etl_runs')
  expect(run).toEqual({ command: 'load', status: 'failed' })
}

describe.each(TARGETS)('a bad landing file on the %s database', (target: Target) => {
  it('refuses binary garbage after a good line: exit 65 naming line 2, nothing loaded', async () => {
    const t = await prepareTarget(target, 'garbage')
    const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x22, 0x0a, 0x80, 0x81, 0x0a])
    const file = await landing('garbage.ndjson', Buffer.concat([Buffer.from(`${GOOD}\n`), garbage]))
    await expectRefused(t, file, 'line 2: not valid JSON')
  })
})

describe.concurrent('a bad landing file on the server database', () => {
  it(`refuses a line longer than ${MAX_LINE_BYTES} bytes without holding it twice: exit 65 naming it`, async () => {
    const t = await prepareTarget('server', 'oversized')
    const file = join(await tempDir('oversized'), 'oversized.ndjson')
    const out = createWriteStream(file)
    out.write(`${GOOD}\n{"dataset":"rates","timestamp":${T},"data":[{"id":"`)
    const chunk = 'a'.repeat(1024 * 1024)
    for (let written = 0; written <= MAX_LINE_BYTES; written += chunk.length) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()))
    }
    await new Promise<void>((r) => out.end('"}]}\n', () => r()))
    await expectRefused(t, file, `line 2: longer than ${MAX_LINE_BYTES} bytes`)
  })

  it('refuses a file that starts like gzip but is not: exit 65, broken gzip data', async () => {
    const t = await prepareTarget('server', 'fakegz')
    const file = await landing('fake.ndjson.gz', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x42, 0x42, 0x42, 0x42]))
    await expectRefused(t, file, 'line 1: broken gzip data')
  })

  it('refuses an assets line whose data is an object, naming line 2', async () => {
    const t = await prepareTarget('server', 'data_object')
    const file = await landing(
      'object.ndjson',
      `${GOOD}\n${JSON.stringify({ dataset: 'assets', timestamp: T, data: { id: 'bitcoin' } })}\n`,
    )
    await expectRefused(t, file, 'line 2: data: Invalid input: expected array, received object')
  })

  it('refuses a history line without an asset, naming line 2', async () => {
    const t = await prepareTarget('server', 'no_asset')
    const history = { dataset: 'history', interval: 'h1', timestamp: T, data: [] }
    const file = await landing('history.ndjson', `${GOOD}\n${JSON.stringify(history)}\n`)
    await expectRefused(t, file, 'line 2: line: a history line needs "asset" and "interval"')
  })

  it('refuses a timestamp beyond the range of a date, naming line 2 (exit 65, not a crash)', async () => {
    const t = await prepareTarget('server', 'far_future')
    const line = JSON.stringify({ dataset: 'rates', timestamp: 8_640_000_000_000_001, data: [rate('euro')] })
    const file = await landing('future.ndjson', `${GOOD}\n${line}\n`)
    const r = await runCli(['load', file], { env: t.env })
    expect(expectCleanFailure(r, 65)[0]).toContain(`${file} line 2: timestamp`)
    expect(await t.count('rate_snapshots')).toBe(0)
  })

  it('keeps a record nested 100,000 deep in rejected_records, cut at 32 levels, and loads the rest: exit 0', async () => {
    const t = await prepareTarget('server', 'deep')
    const deep = `{"dataset":"rates","timestamp":${T},"data":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`
    const file = await landing('deep.ndjson', `${GOOD}\n${deep}\n`)
    const r = await runCli(['load', file, '--json'], { env: t.env })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: { rates: 2 }, rejected: 1 })
    const [kept] = await t.query<{ depth: number; marker: boolean }>(
      `select length(record::text) - length(replace(record::text, '[', '')) as depth,
              record::text like '%"<nested too deeply>"%' as marker from rejected_records`,
    )
    expect(kept).toEqual({ depth: 32, marker: true })
  })

  it.each([
    ['a NUL character in an id', rate('eu\u0000ro')],
    ['a decimal beyond numeric range', rate('overflow', { rateUsd: '1e999999' })],
  ])('keeps a record with %s in rejected_records and loads the rest: exit 0', async (_what, bad) => {
    const t = await prepareTarget('server', 'bad_value')
    const file = await landing(
      'values.ndjson',
      `${JSON.stringify({ dataset: 'rates', timestamp: T, data: [rate('euro'), bad] })}\n`,
    )
    const r = await runCli(['load', file, '--json'], { env: t.env })
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: { rates: 1 }, rejected: 1 })
    expect(await t.count('rate_snapshots')).toBe(1)
    expect(await t.count('rejected_records')).toBe(1)
  })

  it('stores SQL, a prototype key and control characters in values as values: exit 0', async () => {
    const t = await prepareTarget('server', 'hostile_values')
    const hostile = "x'); drop table rate_snapshots;--"
    const line = `{"dataset":"rates","timestamp":${T},"__proto__":{"polluted":true},"data":[${JSON.stringify(
      rate(hostile, { symbol: 'A\tB\\nC' }),
    )},{"__proto__":{"isAdmin":true},"id":"proto","symbol":"P","currencySymbol":null,"type":"crypto","rateUsd":"2"}]}`
    const file = await landing('hostile.ndjson', `${line}\n`)
    const r = await runCli(['load', file], { env: t.env })
    expect(r.code).toBe(0)
    const rows = await t.query<{ rate_id: string; symbol: string }>(
      'select rate_id, symbol from rate_snapshots order by rate_id',
    )
    expect(rows).toEqual([
      { rate_id: 'proto', symbol: 'P' },
      { rate_id: hostile, symbol: 'A\tB\\nC' },
    ])
  })
})
