/**
 * The dashboard server's checks, before anything reaches the warehouse: the parameters each endpoint takes,
 * the plan, which hosts are loopback, the Host names a loopback dashboard answers, and the token.
 */
import type { IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/core/errors.js'
import { parseParams, rangeStart } from '../../src/dashboard/params.js'
import { parsePlan } from '../../src/dashboard/plan.js'
import { allowedHosts, authorized, isLoopback, newToken, tokenInUrl } from '../../src/dashboard/security.js'

const params = (query: string) => new URLSearchParams(query)

describe('the parameters of an endpoint', () => {
  it('reads the allowed ones, each once and well formed', () => {
    expect(parseParams(params('currency=EUR&limit=25&range=7d'), ['currency', 'limit', 'range'])).toEqual({
      currency: 'EUR',
      limit: 25,
      range: '7d',
    })
    expect(parseParams(params('asset=bitcoin%27%3B+drop+table+assets'), ['asset'])).toEqual({
      asset: "bitcoin'; drop table assets",
    })
  })

  it.each([
    ['sql=select+1', "Unknown parameter 'sql': it takes currency, limit."],
    ['limit=0', 'Parameter limit must be a whole number from 1 to 500.'],
    ['limit=501', 'Parameter limit must be a whole number from 1 to 500.'],
    ['limit=1e2', 'Parameter limit must be a whole number from 1 to 500.'],
    ['limit=1&limit=2', 'Parameter limit is given 2 times; give it once.'],
    ['currency=', 'Parameter currency must be 1 to 100 characters.'],
    [`currency=${'x'.repeat(101)}`, 'Parameter currency must be 1 to 100 characters.'],
    ['currency=EUR%0A', 'Parameter currency holds a control character.'],
  ])('refuses %s: %s', (query, message) => {
    expect(() => parseParams(params(query), ['currency', 'limit'])).toThrow(new UsageError(message))
  })

  it('refuses an unknown range, and starts each range that long before now', () => {
    expect(() => parseParams(params('range=2d'), ['range'])).toThrow(
      'Parameter range must be one of 1h, 24h, 7d, 30d, 1y, all.',
    )
    const now = new Date('2026-01-15T12:00:00Z')
    expect(rangeStart('24h', now).toISOString()).toBe('2026-01-14T12:00:00.000Z')
    expect(rangeStart('all', now).toISOString()).toBe('1970-01-01T00:00:00.000Z')
  })
})

describe('the plan', () => {
  it('is a plan’s name in any case, or a number of monthly credits', () => {
    expect(parsePlan('basic')).toEqual({ name: 'Basic', credits: 75_000 })
    expect(parsePlan('FREE')).toEqual({ name: 'Free', credits: 4_000 })
    expect(parsePlan('120000')).toEqual({ name: '120000 credits', credits: 120_000 })
    expect(parsePlan(undefined)).toBeUndefined()
    expect(() => parsePlan('gold')).toThrow("Unknown plan 'gold'.")
    expect(() => parsePlan('0')).toThrow(UsageError)
  })
})

const request = (headers: Record<string, string>) => ({ headers }) as IncomingMessage

describe('who may ask', () => {
  it('knows loopback hosts', () => {
    expect(['127.0.0.1', '127.0.0.2', 'localhost', '::1'].map(isLoopback)).toEqual([true, true, true, true])
    expect(['0.0.0.0', '192.168.1.5', '::', 'example.org'].map(isLoopback)).toEqual([false, false, false, false])
  })

  it('answers only its own names on loopback, any name elsewhere (the token guards it there)', () => {
    const hosts = allowedHosts('127.0.0.1', 8787)!
    expect(['127.0.0.1:8787', 'localhost:8787', '[::1]:8787', 'localhost'].every((h) => hosts.has(h))).toBe(true)
    expect(['attacker.example', 'attacker.example:8787', '127.0.0.1.nip.io:8787'].some((h) => hosts.has(h))).toBe(false)
    expect(allowedHosts('::1', 9000)!.has('[::1]:9000')).toBe(true)
    expect(allowedHosts('0.0.0.0', 8787)).toBeUndefined()
  })

  it('asks for the token as a Bearer header or the cookie, when there is one', () => {
    const token = newToken()
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(authorized(request({}), undefined)).toBe(true)
    expect(authorized(request({}), token)).toBe(false)
    expect(authorized(request({ authorization: `Bearer ${token}` }), token)).toBe(true)
    expect(authorized(request({ authorization: `Bearer ${token}x` }), token)).toBe(false)
    expect(authorized(request({ cookie: `a=b; crypto_etl_dashboard=${token}` }), token)).toBe(true)
    expect(authorized(request({ cookie: `crypto_etl_dashboard=${token.slice(1)}` }), token)).toBe(false)
    expect(tokenInUrl(new URL(`http://h/?token=${token}`), token)).toBe(true)
    expect(tokenInUrl(new URL('http://h/?token=guess'), token)).toBe(false)
    expect(tokenInUrl(new URL(`http://h/?token=${token}`), undefined)).toBe(false)
  })
})
