import { describe, expect, it } from 'vitest'
import { rejectedRecordJson } from '../../../src/warehouse/writing/rows.js'

describe('rejectedRecordJson', () => {
  it('keeps an ordinary record as its JSON', () => {
    const record = { id: 'bitcoin', priceUsd: null, tags: ['a', 1, true] }
    expect(rejectedRecordJson(record)).toBe(JSON.stringify(record))
  })

  it('replaces NUL characters in values and keys, which jsonb refuses', () => {
    expect(rejectedRecordJson({ 'a\u0000b': 'eu\u0000ro' })).toBe('{"a\uFFFDb":"eu\uFFFDro"}')
  })

  it('keeps a "__proto__" key as a key', () => {
    expect(rejectedRecordJson(JSON.parse('{"__proto__":{"isAdmin":true}}'))).toBe('{"__proto__":{"isAdmin":true}}')
  })

  it('cuts nesting at 32 levels instead of overflowing the stack', () => {
    let deep: unknown = []
    for (let i = 0; i < 100_000; i++) deep = [deep]
    const json = rejectedRecordJson(deep)
    expect(json).toBe(`${'['.repeat(32)}"<nested too deeply>"${']'.repeat(32)}`)
  })

  it('stores a bare value as itself', () => {
    expect(rejectedRecordJson('bitcoin')).toBe('"bitcoin"')
    expect(rejectedRecordJson(undefined)).toBe('null')
  })
})
