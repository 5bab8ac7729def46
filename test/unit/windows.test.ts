import { describe, expect, it } from 'vitest'
import { INTERVAL_MS } from '../../src/catalogue/index.js'
import { UsageError } from '../../src/core/errors.js'
import {
  bucketRange,
  estimateDurationMs,
  estimateWindowCredits,
  expectedPoints,
  gridWindows,
  halves,
  mergeWithinGrid,
  subtract,
  isRoundCount,
  suspiciousEdges,
  windowSize,
} from '../../src/pipeline/windows.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const at = (iso: string) => Date.parse(iso)
const iso = (ranges: { start: number; end: number }[]) =>
  ranges.map((r) => [new Date(r.start).toISOString(), new Date(r.end).toISOString()])
const NOW = at('2025-06-15T12:34:56Z')

describe('bucketRange', () => {
  it('starts at the bucket holding --from and ends at the last bucket completed by --to', () => {
    const range = bucketRange('h1', new Date('2025-01-01T10:20:00Z'), new Date('2025-01-02T05:59:59Z'), NOW)
    expect(iso([range])).toEqual([['2025-01-01T10:00:00.000Z', '2025-01-02T05:00:00.000Z']])
  })

  it('ends at the last completed bucket before now when --to is in the future or not given', () => {
    expect(bucketRange('m5', new Date('2025-06-15T00:00:00Z'), undefined, NOW).end).toBe(at('2025-06-15T12:30:00Z'))
    expect(bucketRange('d1', new Date('2025-06-01'), new Date('2030-01-01'), NOW).end).toBe(at('2025-06-15T00:00:00Z'))
  })

  it('is empty when --from and --to fall inside one bucket', () => {
    const range = bucketRange('d1', new Date('2025-01-01T01:00Z'), new Date('2025-01-01T23:00Z'), NOW)
    expect(range.end - range.start).toBe(0)
  })

  it('rejects --from later than --to with a usage error naming both', () => {
    const call = () => bucketRange('h1', new Date('2025-03-01'), new Date('2025-02-01'), NOW)
    expect(call).toThrow(UsageError)
    expect(call).toThrow('--from (2025-03-01T00:00:00.000Z) is later than --to (2025-02-01T00:00:00.000Z).')
  })

  it('rejects --from in the future as later than now', () => {
    expect(() => bucketRange('h1', new Date('2026-01-01'), undefined, NOW)).toThrow(
      '--from (2026-01-01T00:00:00.000Z) is later than now (2025-06-15T12:34:56.000Z).',
    )
  })
})

describe('windowSize', () => {
  it('uses the default when no --window is given and rounds a given one down to whole buckets', () => {
    expect(windowSize('h1', 30 * DAY)).toBe(30 * DAY)
    expect(windowSize('h6', 30 * DAY, 10 * DAY + 5 * HOUR)).toBe(10 * DAY)
  })

  it('rejects a window shorter than one bucket', () => {
    expect(() => windowSize('h1', 30 * DAY, 30 * 60_000)).toThrow('--window must be at least one h1 bucket (3600s).')
  })
})

describe('gridWindows', () => {
  it('cuts on a grid anchored at the epoch, clipping the first and last window to the range', () => {
    const range = { start: at('2025-01-01'), end: at('2025-04-01') }
    expect(iso(gridWindows(range, 30 * DAY))).toEqual([
      ['2025-01-01T00:00:00.000Z', '2025-01-12T00:00:00.000Z'],
      ['2025-01-12T00:00:00.000Z', '2025-02-11T00:00:00.000Z'],
      ['2025-02-11T00:00:00.000Z', '2025-03-13T00:00:00.000Z'],
      ['2025-03-13T00:00:00.000Z', '2025-04-01T00:00:00.000Z'],
    ])
  })

  it('refuses to cut more than 50,000 windows for one asset, before making any', () => {
    const minute = 60_000
    expect(gridWindows({ start: 0, end: 50_000 * minute }, minute)).toHaveLength(50_000)
    expect(() => gridWindows({ start: 0, end: 3650 * DAY }, minute)).toThrow(
      'That range is 5,256,000 windows per asset, more than 50,000.',
    )
  })

  it('gives the same inner windows for a range that starts a few hours later', () => {
    const a = gridWindows({ start: at('2025-01-01'), end: at('2025-04-01') }, 30 * DAY)
    const b = gridWindows({ start: at('2025-01-01T05:00Z'), end: at('2025-04-01T05:00Z') }, 30 * DAY)
    expect(b.slice(1, 3)).toEqual(a.slice(1, 3))
  })

  it('covers every bucket of the range exactly once', () => {
    const range = { start: at('2024-12-30T07:00Z'), end: at('2025-01-09T13:00Z') }
    const windows = gridWindows(range, 2 * DAY)
    expect(windows[0]!.start).toBe(range.start)
    expect(windows.at(-1)!.end).toBe(range.end)
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.start).toBe(windows[i - 1]!.end)
    expect(windows.reduce((n, w) => n + expectedPoints(w, 'h1'), 0)).toBe(expectedPoints(range, 'h1'))
  })

  it('makes no window of an empty range', () => {
    expect(gridWindows({ start: 5 * DAY, end: 5 * DAY }, DAY)).toEqual([])
  })
})

describe('subtract and mergeWithinGrid', () => {
  it('keeps the parts of each window that no finished window covers', () => {
    const windows = [
      { start: 0, end: 10 },
      { start: 10, end: 20 },
      { start: 20, end: 30 },
    ]
    const covered = [
      { start: 0, end: 10 },
      { start: 12, end: 14 },
      { start: 25, end: 40 },
    ]
    expect(subtract(windows, covered)).toEqual([
      { start: 10, end: 12 },
      { start: 14, end: 20 },
      { start: 20, end: 25 },
    ])
  })

  it('merges pieces of the same grid window into one request, not across the grid', () => {
    const pieces = [
      { start: 1, end: 3 },
      { start: 6, end: 8 },
      { start: 10, end: 12 },
    ]
    expect(mergeWithinGrid(pieces, 10)).toEqual([
      { start: 1, end: 8 },
      { start: 10, end: 12 },
    ])
  })
})

describe('costs', () => {
  it('counts the buckets of a window as its expected points', () => {
    expect(expectedPoints({ start: 0, end: 30 * DAY }, 'h1')).toBe(720)
    expect(expectedPoints({ start: 0, end: DAY }, 'm1')).toBe(1440)
    expect(expectedPoints({ start: 0, end: 5 * DAY }, 'm5')).toBe(1440)
  })

  it('estimates 28 credits for 30 days of h1, as the CoinCap notes measured (~27)', () => {
    expect(estimateWindowCredits({ start: 0, end: 30 * DAY }, 'h1')).toBe(28)
    expect(estimateWindowCredits({ start: 0, end: DAY }, 'd1')).toBe(2)
  })

  it('estimates the duration from the rate limit or the requests in flight, whichever is slower', () => {
    expect(estimateDurationMs(1000, 100, 4)).toBe(600_000)
    expect(estimateDurationMs(8, 500, 4)).toBe(1000)
  })
})

describe('halves and suspiciousEdges', () => {
  it('splits a window on a bucket boundary, and not a single bucket', () => {
    expect(halves({ start: 0, end: 5 * HOUR }, 'h1')).toEqual([
      { start: 0, end: 2 * HOUR },
      { start: 2 * HOUR, end: 5 * HOUR },
    ])
    expect(halves({ start: 0, end: HOUR }, 'h1')).toBeUndefined()
  })

  it('flags a long missing tail as cut short, and leaves short holes at the edges alone', () => {
    const step = INTERVAL_MS.h1
    const window = { start: 0, end: 720 * step }
    const first500 = Array.from({ length: 500 }, (_, i) => i * step)
    expect(suspiciousEdges(first500, window, 'h1')).toEqual([{ start: 500 * step, end: 720 * step }])
    const holeAtEachEnd = Array.from({ length: 716 }, (_, i) => (i + 2) * step)
    expect(suspiciousEdges(holeAtEachEnd, window, 'h1')).toEqual([])
  })

  it('flags even a short missing edge of an answer whose count looks like a cap', () => {
    const step = INTERVAL_MS.m1
    const window = { start: 0, end: 1440 * step }
    const first1400 = Array.from({ length: 1400 }, (_, i) => i * step)
    expect(suspiciousEdges(first1400, window, 'm1')).toEqual([])
    expect(suspiciousEdges(first1400, window, 'm1', isRoundCount(1400))).toEqual([
      { start: 1400 * step, end: 1440 * step },
    ])
    expect([100, 1000, 2500, 64, 256, 1024].map(isRoundCount)).toEqual([true, true, true, true, true, true])
    expect([99, 716, 1439, 1420, 63, 96].map(isRoundCount)).toEqual([false, false, false, false, false, false])
  })
})
