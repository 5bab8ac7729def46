import { describe, expect, it } from 'vitest'
import { closest, editDistance } from '../../src/ui/did-you-mean.js'

describe('did you mean', () => {
  it('counts a swap of neighbours as one edit', () => {
    expect([editDistance('rnu', 'run'), editDistance('limt', 'limit'), editDistance('abc', 'xyz')]).toEqual([1, 1, 3])
  })

  it('suggests the closest name within two edits (one for short words), or one starting with the word', () => {
    const flags = ['--datasets', '--limit', '--assets', '--older-than', '--newer-than']
    expect(closest('--dataset', flags)).toBe('--datasets')
    expect(closest('--older-then', flags)).toBe('--older-than')
    expect(closest('--LIMIT', flags)).toBe('--limit')
    expect(closest('--zzzz', flags)).toBeUndefined()
    expect(closest('sched', ['run', 'schedule', 'status'])).toBe('schedule')
    expect(closest('xy', ['run', 'query'])).toBeUndefined()
  })
})
