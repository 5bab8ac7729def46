import { describe, expect, it } from 'vitest'
import {
  datasetsKey,
  estimateDatasetCredits,
  estimateRunCredits,
  monthlyCredits,
  runsPerMonth,
  smallestPlan,
} from '../../src/pipeline/costs.js'

const MINUTE = 60_000

describe('credit estimates from typical sizes', () => {
  it.each([
    ['assets', {}, 19],
    ['exchanges', {}, 11],
    ['rates', {}, 8],
    ['markets', {}, 260],
  ] as const)('puts one run of %s at the documented sample cost', (dataset, selection, credits) => {
    expect(estimateDatasetCredits(dataset, selection)).toBe(credits)
  })

  it('costs the default datasets 38 credits a run', () => {
    expect(estimateRunCredits(['assets', 'exchanges', 'rates'])).toBe(38)
  })

  it('costs ten asset ids 3 credits, as /assets?ids=<10 slugs> does', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `coin-${i}`)
    expect(estimateDatasetCredits('assets', { assets: ids })).toBe(3)
  })

  it('counts one call per 100 asset ids', () => {
    const ids = Array.from({ length: 250 }, (_, i) => `coin-${i}`)
    // 100 ids: 1 + ceil(45,000 / 2,500) = 19, twice; 50 ids: 1 + 9 = 10.
    expect(estimateDatasetCredits('assets', { assets: ids })).toBe(48)
  })

  it('counts one call per page of 2,000 assets for a large --limit', () => {
    // 2,000 assets: 1 + 360; 500 assets: 1 + 90.
    expect(estimateDatasetCredits('assets', { limit: 2500 })).toBe(452)
  })

  it('scales markets with --markets-limit', () => {
    expect(estimateDatasetCredits('markets', { marketsLimit: 100 })).toBe(14)
  })
})

describe('monthly credits and plans', () => {
  it('counts 8,640 runs a month every 5 minutes, 720 hourly and 30 daily', () => {
    expect([runsPerMonth(5 * MINUTE), runsPerMonth(60 * MINUTE), runsPerMonth(1440 * MINUTE)]).toEqual([8640, 720, 30])
  })

  it('puts the default datasets every 5 minutes at 328,320 credits a month', () => {
    expect(monthlyCredits(38, 5 * MINUTE)).toBe(328_320)
  })

  it.each([
    [4_000, 'Free'],
    [4_001, 'Basic'],
    [225_000, 'Growth'],
    [328_320, 'Professional'],
    [5_000_000, 'Enterprise'],
  ])('finds the smallest plan covering %i credits: %s', (credits, plan) => {
    expect(smallestPlan(credits)?.name).toBe(plan)
  })

  it('finds no plan beyond Enterprise', () => {
    expect(smallestPlan(5_000_001)).toBeUndefined()
  })

  it('keys a set of datasets in their canonical order, whatever order a run recorded', () => {
    expect(datasetsKey(['rates', 'assets', 'exchanges', 'assets'])).toBe('assets,exchanges,rates')
  })
})
