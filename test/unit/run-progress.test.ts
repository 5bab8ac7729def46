import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { interactive } from '../../src/ui/run.js'

describe('interactive (spinners or plain lines)', () => {
  let ci: string | undefined
  beforeEach(() => {
    ci = process.env.CI
    delete process.env.CI
  })
  afterEach(() => {
    if (ci === undefined) delete process.env.CI
    else process.env.CI = ci
  })

  it('draws on a terminal with a width, unless --json or --quiet', () => {
    const terminal = { isTTY: true, columns: 120 }
    expect(interactive(false, false, terminal)).toBe(true)
    expect(interactive(true, false, terminal)).toBe(false)
    expect(interactive(false, true, terminal)).toBe(false)
  })

  it('writes plain lines to a pipe, a terminal of zero columns (ora would clear lines without end), and under CI', () => {
    expect(interactive(false, false, { isTTY: false, columns: 120 })).toBe(false)
    expect(interactive(false, false, { isTTY: true, columns: 0 })).toBe(false)
    expect(interactive(false, false, { isTTY: true })).toBe(false)
    process.env.CI = 'true'
    expect(interactive(false, false, { isTTY: true, columns: 120 })).toBe(false)
  })
})
