import { describe, expect, it } from 'vitest'
import { formatBytes } from '../../src/core/bytes.js'
import type { QueryResult } from '../../src/pipeline/query.js'
import { renderChart } from '../../src/ui/chart.js'
import * as format from '../../src/ui/format.js'
import { formatCell, renderQuery, toCsv } from '../../src/ui/query.js'

describe('roundDecimal', () => {
  it('rounds half away from zero without going through a float', () => {
    expect(format.roundDecimal('80399.570000000006984919', 2)).toBe('80,399.57')
    expect(format.roundDecimal('0.125', 2)).toBe('0.13')
    expect(format.roundDecimal('-0.125', 2)).toBe('-0.13')
    expect(format.roundDecimal('9999.995', 2)).toBe('10,000.00')
    // 2^53 + 1 is not a float: only exact arithmetic keeps the last digit.
    expect(format.roundDecimal('9007199254740993.4', 0)).toBe('9,007,199,254,740,993')
  })

  it('drops the sign of a value that rounds to zero', () => {
    expect(format.roundDecimal('-0.001', 2)).toBe('0.00')
  })

  it('pads short fractions and can leave thousands ungrouped', () => {
    expect(format.roundDecimal('12345', 2, false)).toBe('12345.00')
    expect(format.roundDecimal('.5', 1)).toBe('0.5')
  })

  it('returns what is not a decimal as given', () => {
    expect(format.roundDecimal('NaN', 2)).toBe('NaN')
    expect(format.roundDecimal('Infinity', 2)).toBe('Infinity')
  })
})

/** [what a formatter shows, the formatter, [the decimal string the warehouse returns, what a person reads]]. */
const SHOWN: [string, (value: string) => string, [string, string][]][] = [
  [
    'formatPrice shows 2 decimals from 1 up, grouped by thousands',
    format.formatPrice,
    [
      ['80800.000000000006984919', '80,800.00'],
      ['1.000100000000000000', '1.00'],
    ],
  ],
  [
    'formatPrice shows 4 significant digits below 1',
    format.formatPrice,
    [
      ['0.210000000000000000', '0.2100'],
      ['0.000012345678', '0.00001235'],
      ['0', '0.00'],
    ],
  ],
  [
    'formatAmount abbreviates millions, billions and trillions with 2 decimals',
    format.formatAmount,
    [
      ['1603123456789.123456789012345678', '1.60T'],
      ['35123456789.5', '35.12B'],
      ['4500000', '4.50M'],
      ['-2500000000', '-2.50B'],
    ],
  ],
  [
    'formatAmount groups amounts below a million by thousands',
    format.formatAmount,
    [
      ['523456.789', '523,456.79'],
      ['999999.99', '999,999.99'],
    ],
  ],
  [
    'formatPercent shows the sign and 2 decimals',
    format.formatPercent,
    [
      ['2.345678', '+2.35%'],
      ['-1.5', '-1.50%'],
      ['0.004', '0.00%'],
      ['-0.004', '0.00%'],
    ],
  ],
  [
    'formatDecimal shows generic decimals with at most 6 places and no trailing zeros',
    format.formatDecimal,
    [
      ['1234.500000', '1,234.5'],
      ['1234', '1,234'],
      ['0.0000001234567', '0.0000001235'],
    ],
  ],
]

describe('decimal strings', () => {
  it.each(SHOWN)('%s', (_what, formatter, cases) => {
    for (const [value, shown] of cases) expect(formatter(value)).toBe(shown)
  })

  it('formatPrice shows nothing for a missing value', () => {
    expect(format.formatPrice(null)).toBe('')
  })
})

describe('other values', () => {
  it('groups integers, also those that arrive as strings', () => {
    expect(format.formatInteger(1234567)).toBe('1,234,567')
    expect(format.formatInteger('-17300000')).toBe('-17,300,000')
  })

  it('shows times in UTC to the second', () => {
    expect(format.formatTime(new Date('2025-11-22T12:00:00.123Z'))).toBe('2025-11-22 12:00:00Z')
  })

  it('shows ages and sizes briefly', () => {
    expect(format.formatAge(7_500_000)).toBe('2h5m')
    expect(format.formatAge(-5)).toBe('0ms')
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536 * 1024)).toBe('1.5 MiB')
  })

  it('knows the sign of a decimal string', () => {
    expect([
      format.decimalSign('0.000'),
      format.decimalSign('-0.1'),
      format.decimalSign('3'),
      format.decimalSign('x'),
    ]).toEqual([0, -1, 1, 0])
  })
})

describe('colour', () => {
  it('is on only for a terminal without NO_COLOR', () => {
    expect(format.colorEnabled({ isTTY: true }, {})).toBe(true)
    expect(format.colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(format.colorEnabled({ isTTY: false }, {})).toBe(false)
    expect(format.colorEnabled({}, {})).toBe(false)
  })

  it('paints gains green and losses red, and nothing when off or flat', () => {
    expect(format.paintChange('+1%', 1, true)).toBe('\u001b[32m+1%\u001b[39m')
    expect(format.paintChange('-1%', -1, true)).toBe('\u001b[31m-1%\u001b[39m')
    expect(format.paintChange('-1%', -1, false)).toBe('-1%')
    expect(format.paintChange('0%', 0, true)).toBe('0%')
  })

  it('colours a percentage cell by its sign', () => {
    expect(formatCell('-3', { name: 'change', kind: 'percent' }, true)).toBe('\u001b[31m-3.00%\u001b[39m')
  })
})

describe('csv and json output', () => {
  const result: QueryResult = {
    report: 'sql',
    currency: 'USD',
    columns: [
      { name: 'name', kind: 'text' },
      { name: 'price', kind: 'decimal' },
      { name: 'at', kind: 'time' },
    ],
    rows: [{ name: 'a, "quoted"\nname', price: '0.000000000000000001', at: new Date('2025-01-01T00:00:00Z') }],
  }

  it('quotes csv fields with commas, quotes or line breaks and keeps every digit', () => {
    expect(toCsv(result)).toBe('name,price,at\n"a, ""quoted""\nname",0.000000000000000001,2025-01-01T00:00:00.000Z')
  })

  it('prints a JSON array of the row objects', () => {
    expect(JSON.parse(renderQuery(result, { format: 'json' }))).toEqual([
      { name: 'a, "quoted"\nname', price: '0.000000000000000001', at: '2025-01-01T00:00:00.000Z' },
    ])
  })
})

describe('renderChart', () => {
  it('draws a rising series from the bottom left to the top right, with labels', () => {
    const points = [0, 1, 2, 3].map((i) => ({ time: new Date(i * 60_000), value: 10 + i }))
    const lines = renderChart(points, { width: 16, height: 2, formatValue: (v) => v.toFixed(0), formatTime: () => 't' })
      .split('\n')
      .map((l) => l.trimEnd())
    expect(lines).toEqual(['13 ┤⠀⠀⠀⠀⠀⠀⣀⠤⠤⠒⠒⠉', '10 ┤⣀⡠⠤⠔⠒⠉⠀⠀⠀⠀⠀⠀', '   └────────────', '    t          t'])
  })

  it('draws nothing for no points', () => {
    expect(renderChart([])).toBe('')
  })
})
