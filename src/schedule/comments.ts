/** The cost comments a crontab block and a timer file carry. */
import { formatBytes } from '../core/bytes.js'
import type { Schedule, ScheduledGroup } from './types.js'

/** Text for comments: `241,200`. */
export const count = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')

/** One group's cost: credits a run and a month, and where the run size comes from. */
export function costComment(g: ScheduledGroup): string {
  const source = g.cost.source === 'measured' ? `average of ${g.cost.runs} recent runs` : 'typical sizes'
  return `${g.datasets.join(',')} every ${g.every}: ~${count(g.cost.perRun)} CoinCap credits a run, ~${count(g.cost.perMonth)} a month (${source})`
}

/** The schedule's credits a month, and the smallest CoinCap plan that covers them. */
export function totalComment(schedule: Schedule): string {
  const plan = schedule.cost.plan ? `the ${schedule.cost.plan} plan covers it` : 'more than any CoinCap plan'
  return `Total: ~${count(schedule.cost.perMonth)} CoinCap credits a month (${plan})`
}

/** The schedule's storage: how much the warehouse grows a day and in a 30-day month. */
export function storageComment(schedule: Schedule): string {
  const { perDay, perMonth } = schedule.storage
  return `Storage: ~${formatBytes(perDay)} a day, ~${formatBytes(perMonth)} a month (measured bytes per row, typical sizes)`
}
