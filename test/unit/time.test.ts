import { describe, expect, it } from 'vitest'
import { formatDuration, parseDuration, parseIsoDate, parseTime } from '../../src/config/time.js'

describe('durations and times', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['30d', 2_592_000_000],
    ['2w', 1_209_600_000],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms)
  })

  it.each(['', '0d', '-1d', '1.5h', '30', 'd', '30x', '1 d', '1e3s'])('rejects the duration %j', (text) => {
    expect(parseDuration(text)).toBeUndefined()
  })

  it('reads a date alone as UTC midnight and keeps explicit offsets', () => {
    expect(parseIsoDate('2025-01-01')?.toISOString()).toBe('2025-01-01T00:00:00.000Z')
    expect(parseIsoDate('2025-01-01T12:00Z')?.toISOString()).toBe('2025-01-01T12:00:00.000Z')
    expect(parseIsoDate('2025-01-01T12:00:00+02:00')?.toISOString()).toBe('2025-01-01T10:00:00.000Z')
  })

  it.each(['2025-02-30', '2025-13-01', 'yesterday', '01/02/2025', '2025-01-01T25:00Z'])(
    'rejects the impossible date %j',
    (text) => {
      expect(parseIsoDate(text)).toBeUndefined()
    },
  )

  it('counts a duration back from now', () => {
    const now = new Date('2025-06-30T00:00:00Z')
    expect(parseTime('30d', now)?.toISOString()).toBe('2025-05-31T00:00:00.000Z')
    expect(parseTime('2025-06-01', now)?.toISOString()).toBe('2025-06-01T00:00:00.000Z')
    expect(parseTime('soon', now)).toBeUndefined()
  })

  it('refuses times outside the years 1 to 9999, which Postgres would refuse', () => {
    const now = new Date('2025-06-30T00:00:00Z')
    expect(parseTime('739000d', now)?.toISOString()).toBe('0002-03-08T00:00:00.000Z')
    expect([parseTime('740000d', now), parseTime('100000000d', now), parseTime('0000-12-31', now)]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
    expect(parseTime('0001-01-01', now)?.toISOString()).toBe('0001-01-01T00:00:00.000Z')
    expect(parseTime('9999-12-31T23:59Z', now)?.toISOString()).toBe('9999-12-31T23:59:00.000Z')
  })

  it('formats durations shortly', () => {
    expect([
      formatDuration(450),
      formatDuration(90_000),
      formatDuration(3_600_000),
      formatDuration(90_061_000),
    ]).toEqual(['450ms', '1m30s', '1h', '1d1h'])
  })
})
