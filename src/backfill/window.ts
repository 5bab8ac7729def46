/**
 * Fetching one window of `/assets/{id}/history`: a few windows ahead of the one being loaded, and the
 * follow-up requests that complete an answer that came back empty or cut short.
 */
import { INTERVAL_MS, type Interval } from '../catalogue/index.js'
import type { Answer, CoincapClient } from '../coincap/index.js'
import { EtlError, ExitCode } from '../core/errors.js'
import type { MappedAnswer } from '../pipeline/mapping.js'
import { halves, isRoundCount, suspiciousEdges, type TimeRange } from '../pipeline/windows.js'

/** Follow-up requests for one window's cut-off edges, at most. */
const MAX_FOLLOW_UPS = 16

/** Asks CoinCap for one range. `end` goes as `end - 1`: the answer is half-open whatever CoinCap's `end` means. */
export async function fetchRange(
  client: CoincapClient,
  asset: string,
  interval: Interval,
  range: TimeRange,
): Promise<Answer> {
  const answers = client.history(asset, interval, { start: range.start, end: range.end - 1 })
  for await (const answer of answers) return answer
  throw new EtlError(`CoinCap sent no answer for ${asset} ${interval}.`, ExitCode.internal)
}

/** Starts fetching up to `depth` windows ahead of the one handed out, so loading never waits on the network alone. */
export function* prefetch<T, R>(items: readonly T[], depth: number, start: (item: T) => Promise<R>) {
  const inFlight: [T, Promise<R>][] = []
  let next = 0
  const fill = () => {
    while (inFlight.length < depth && next < items.length) {
      const item = items[next++]!
      const promise = start(item)
      promise.catch(() => {}) // awaited in turn; this only keeps an abandoned one from being "unhandled"
      inFlight.push([item, promise])
    }
  }
  fill()
  while (inFlight.length > 0) {
    const head = inFlight.shift()!
    fill()
    yield head
  }
}

/** A window once CoinCap has answered, follow-ups included, each answer validated and mapped. */
export interface Fetched {
  answers: MappedAnswer[]
  points: number
  /** What the ledger records: `pending` leaves a recent window without points to the next run. */
  status: 'done' | 'empty' | 'pending'
  /** The range the mark covers: the window, or up to its last point when it is recent. */
  record: TimeRange
  requests: number
}

/** CoinCap may not have published the newest buckets yet: missing points this close to now are not holes. */
export const recentMs = (step: number) => Math.max(3 * step, 3_600_000)

/**
 * Completes a window from its first answer. Empty where data should be (after data was seen): the two halves
 * are asked once. A long run of missing points at either edge, or any missing edge of an answer with a round
 * count (an answer cut short by a cap): that edge is asked again, as long as each follow-up brings new
 * points. What is still missing is recorded as it is: holes.
 */
export async function completeWindow(
  fetch: (range: TimeRange) => Promise<MappedAnswer>,
  window: TimeRange,
  interval: Interval,
  first: MappedAnswer,
  when: { dataBefore: boolean; recent: boolean },
): Promise<Fetched> {
  const times = new Set<number>()
  /** Whether the last answer's count looked like a cap: then even a short missing edge is asked again. */
  let capped = false
  const add = (answer: MappedAnswer) => {
    for (const time of answer.times) if (time >= window.start && time < window.end) times.add(time)
    capped = isRoundCount(answer.records)
  }
  const answers = [first]
  add(first)
  const asked = new Set<string>()
  const keyOf = (r: TimeRange) => `${r.start}-${r.end}`
  const parts = times.size === 0 && when.dataBefore ? halves(window, interval) : undefined
  if (parts) {
    const more = await Promise.all(parts.map(fetch))
    answers.push(...more)
    for (const answer of more) add(answer)
    for (const part of parts) asked.add(keyOf(part))
  }
  for (let i = 0; i < MAX_FOLLOW_UPS && times.size > 0; i++) {
    const sorted = [...times].sort((a, b) => a - b)
    const edges = suspiciousEdges(sorted, window, interval, capped).filter(
      (e) => !(when.recent && e.end === window.end),
    )
    const edge = edges.find((e) => !asked.has(keyOf(e)))
    if (!edge) break
    asked.add(keyOf(edge))
    const answer = await fetch(edge)
    answers.push(answer)
    add(answer)
  }
  const requests = answers.length
  if (times.size === 0)
    return { answers, points: 0, status: when.recent ? 'pending' : 'empty', record: window, requests }
  let last = window.start
  for (const time of times) if (time > last) last = time
  const record = when.recent ? { start: window.start, end: last + INTERVAL_MS[interval] } : window
  return { answers, points: times.size, status: 'done', record, requests }
}
