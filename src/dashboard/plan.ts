/** The CoinCap plan the dashboard weighs this month's credits against: a plan's name or a number of credits. */
import { UsageError } from '../core/errors.js'
import { PLANS } from '../pipeline/costs.js'

/** A plan's name and its monthly credits. */
export interface DashboardPlan {
  name: string
  credits: number
}

/**
 * `free`, `Basic`, ... (any case), or a whole number of monthly credits; undefined when not given.
 * @throws UsageError (2) for anything else.
 */
export function parsePlan(value: string | undefined): DashboardPlan | undefined {
  if (value === undefined) return undefined
  const named = PLANS.find((p) => p.name.toLowerCase() === value.trim().toLowerCase())
  if (named) return { name: named.name, credits: named.credits }
  if (/^\d{1,10}$/.test(value.trim()) && Number(value) > 0)
    return { name: `${Number(value)} credits`, credits: Number(value) }
  throw new UsageError(
    `Unknown plan '${value}'.`,
    `Name one of ${PLANS.map((p) => p.name.toLowerCase()).join(', ')}, or the monthly credits, e.g. --plan 75000.`,
  )
}
