/**
 * `backfill`: `/assets/{id}/history` for assets, an interval and a range, in windows recorded in the
 * `backfill_windows` ledger so a re-run skips what is done and a killed run resumes where it stopped.
 * Windows are fetched a few ahead (the client's limiter keeps the pace) and loaded one at a time in time
 * order, each in one transaction with its ledger mark, so memory stays flat and nothing is half-recorded.
 */
import {
  type Answer,
  type CoincapClient,
  DEFAULT_HISTORY_WINDOW_MS,
  type Interval,
  validateRecords,
} from '../coincap/index.js'
import { resolveOptions } from '../coincap/options.js'
import { estimateCredits } from '../coincap/stats.js'
import { ApiAuthError, EtlError, ExitCode, InterruptedError, PartialError, UsageError } from '../errors.js'
import {
  dropUntried,
  firstWindowWithData,
  insertPending,
  ledgerWindows,
  markFailed,
  markFinished,
  storedHistoryRange,
  topStoredAssets,
} from '../warehouse/backfill.js'
import type { Warehouse } from '../warehouse/connect.js'
import { loadAnswer } from '../warehouse/loader.js'
import { tryLock } from '../warehouse/locks.js'
import { findHistoryGaps } from '../warehouse/queries.js'
import { finishRun, type RunStatus, startRun } from '../warehouse/runs.js'
import {
  bucketRange,
  estimateDurationMs,
  estimateWindowCredits,
  expectedPoints,
  gridWindows,
  halves,
  INTERVAL_MS,
  isoOf,
  mergeWithinGrid,
  subtract,
  suspiciousEdges,
  type TimeRange,
  windowSize,
} from './windows.js'

/** Which assets: these ids, or the top N by rank (one `/assets` request). */
export type BackfillAssets = { ids: readonly string[] } | { top: number }

export interface BackfillOptions {
  assets: BackfillAssets
  interval: Interval
  /** Start of the range; without it, `fillGaps` uses each asset's stored history. */
  from?: Date
  /** End of the range (default now); only completed buckets are fetched. */
  to?: Date
  /** Window per request (default {@link DEFAULT_HISTORY_WINDOW_MS}), rounded down to whole buckets. */
  windowMs?: number
  /** Fetch only windows with holes in stored history that CoinCap has not already confirmed. */
  fillGaps?: boolean
  version: string
  now?: () => number
  signal?: AbortSignal
  secrets?: readonly string[]
  events?: BackfillEvents
  /** Windows fetched ahead of the one being loaded. Default 4. */
  prefetch?: number
}

/** A window of the plan, times as ISO text. */
export interface PlannedWindow {
  start: string
  end: string
  points: number
  credits: number
}

export interface AssetPlan {
  asset: string
  /** The asset's range (with `fillGaps` and no `from`: its stored history), or null when there is none. */
  from: string | null
  to: string | null
  /** Windows the range spans, and how many of them need nothing (done before, or no hole). */
  windows: number
  skipped: number
  toFetch: PlannedWindow[]
  requests: number
  credits: number
}

/** What `--plan` prints and a backfill announces before it spends anything. */
export interface BackfillPlan {
  interval: Interval
  windowMs: number
  fillGaps: boolean
  assets: AssetPlan[]
  /** The `/assets` request `--top` makes (0 with `--assets`), and where `--plan` took the ids from. */
  assetRequests: { requests: number; credits: number; note?: string }
  totals: { windows: number; skipped: number; requests: number; credits: number; durationMs: number }
  rate: { requestsPerMinute: number; concurrency: number }
}

export interface WindowProgress {
  asset: string
  start: number
  end: number
  status: 'done' | 'empty' | 'pending'
  points: number
  expected: number
  rows: number
  requests: number
}

/** Progress events, for a progress bar or log lines; the pipeline prints nothing. */
export interface BackfillEvents {
  planned?(plan: BackfillPlan): void
  assetSkipped?(asset: string, reason: string): void
  windowFinished?(progress: WindowProgress): void
  windowFailed?(asset: string, window: TimeRange, error: EtlError): void
}

export interface AssetOutcome {
  asset: string
  status: 'ok' | 'partial' | 'failed' | 'skipped'
  windows: { planned: number; skipped: number; done: number; empty: number; failed: number; short: number }
  /** Points CoinCap sent inside the windows, and the rows they added (0 for points already stored). */
  points: number
  rows: number
  /** Buckets of windows with data that CoinCap sent no point for: holes at the source. */
  missing: number
  rejected: number
  error?: string
}

/** The backfill's summary: what `--json` prints and `etl_runs` records. */
export interface BackfillResult {
  runId: number | null
  status: Exclude<RunStatus, 'running'>
  interval: Interval
  windowMs: number
  fillGaps: boolean
  assets: AssetOutcome[]
  rows: number
  api: { requests: number; historyRequests: number; credits: number; bytes: number; retries: number }
  ms: number
  rowsPerSecond: number
}

/** Consecutive windows failing with 69 after which CoinCap is taken to be down and the backfill stops. */
const MAX_CONSECUTIVE_FAILURES = 3
/** Follow-up requests for one window's cut-off edges, at most. */
const MAX_FOLLOW_UPS = 16

interface AssetWork {
  asset: string
  range: TimeRange | null
  grid: TimeRange[]
  windows: TimeRange[]
  firstData: number | null
}

interface Context {
  interval: Interval
  step: number
  windowMs: number
  range: TimeRange | null
  fillGaps: boolean
  now: number
}

/**
 * Checks the options (no I/O) and resolves the range and window size.
 * @throws UsageError (2) for a missing --from, --from after --to, a window shorter than one bucket.
 */
export function checkBackfillOptions(options: BackfillOptions): void {
  resolveContext(options)
}

function resolveContext(options: BackfillOptions): Context {
  const now = options.now?.() ?? Date.now()
  const { interval } = options
  if (!options.from && !options.fillGaps) {
    throw new UsageError('Missing --from: give the start of the range, e.g. --from 90d or --from 2025-01-01.')
  }
  if (!options.from && options.to) throw new UsageError('--to needs --from.')
  return {
    interval,
    step: INTERVAL_MS[interval],
    windowMs: windowSize(interval, DEFAULT_HISTORY_WINDOW_MS[interval], options.windowMs),
    range: options.from ? bucketRange(interval, options.from, options.to, now) : null,
    fillGaps: Boolean(options.fillGaps),
    now,
  }
}

const overlaps = (a: TimeRange, b: TimeRange) => a.start < b.end && b.start < a.end

/** The windows one asset needs: the range's grid less what the ledger has finished (or, filling gaps, its holes). */
async function planAsset(warehouse: Warehouse, ctx: Context, asset: string): Promise<AssetWork> {
  const { sql } = warehouse
  const key = { assetId: asset, interval: ctx.interval }
  const stored = ctx.range ? null : await storedHistoryRange(sql, key, ctx.step)
  const range = ctx.range ?? (stored && { start: stored.start, end: Math.min(stored.end, ctx.now) })
  const firstData = await firstWindowWithData(sql, key)
  if (!range || range.start >= range.end) return { asset, range, grid: [], windows: [], firstData }
  const grid = gridWindows(range, ctx.windowMs)
  const ledger = await ledgerWindows(sql, key, range, { withStored: ctx.fillGaps })
  const finished = ledger.filter((w) => w.status === 'done' || w.status === 'empty')
  if (!ctx.fillGaps) return { asset, range, grid, windows: subtract(grid, finished), firstData }
  const gaps = await findHistoryGaps(sql, {
    assetId: asset,
    interval: ctx.interval,
    from: new Date(range.start),
    to: new Date(range.end - ctx.step),
  })
  const holes = gaps.map((g) => ({ start: g.from.getTime(), end: g.to.getTime() + ctx.step }))
  // A finished window holding fewer points than CoinCap sent lost some since (a prune): fetch it again whole.
  const lost = finished.filter((w) => (w.stored ?? 0) < w.rows && holes.some((h) => overlaps(h, w)))
  const unknown = subtract(
    holes.flatMap((h) => gridWindows(h, ctx.windowMs)),
    finished,
  )
  const windows = [...lost, ...mergeWithinGrid(unknown, ctx.windowMs)]
    .map((w) => ({ start: w.start, end: w.end }))
    .sort((a, b) => a.start - b.start)
  return { asset, range, grid, windows, firstData }
}

function toAssetPlan(work: AssetWork, interval: Interval): AssetPlan {
  const toFetch = work.windows.map((w) => ({
    start: isoOf(w.start),
    end: isoOf(w.end),
    points: expectedPoints(w, interval),
    credits: estimateWindowCredits(w, interval),
  }))
  return {
    asset: work.asset,
    from: work.range ? isoOf(work.range.start) : null,
    to: work.range ? isoOf(work.range.end) : null,
    windows: work.grid.length,
    skipped: work.grid.filter((g) => !work.windows.some((w) => overlaps(w, g))).length,
    toFetch,
    requests: toFetch.length,
    credits: toFetch.reduce((n, w) => n + w.credits, 0),
  }
}

/** Bytes of one `/assets` record (a 100-asset answer is ~44 KB), for the cost of `--top`. */
const ASSET_RECORD_BYTES = 450

function makePlan(ctx: Context, works: AssetWork[], assetRequests: BackfillPlan['assetRequests']): BackfillPlan {
  const { requestsPerMinute, concurrency } = resolveOptions({})
  const assets = works.map((w) => toAssetPlan(w, ctx.interval))
  const requests = assets.reduce((n, a) => n + a.requests, 0) + assetRequests.requests
  return {
    interval: ctx.interval,
    windowMs: ctx.windowMs,
    fillGaps: ctx.fillGaps,
    assets,
    assetRequests,
    totals: {
      windows: assets.reduce((n, a) => n + a.windows, 0),
      skipped: assets.reduce((n, a) => n + a.skipped, 0),
      requests,
      credits: assets.reduce((n, a) => n + a.credits, 0) + assetRequests.credits,
      durationMs: estimateDurationMs(requests, requestsPerMinute, concurrency),
    },
    rate: { requestsPerMinute, concurrency },
  }
}

/**
 * The plan of a backfill: windows to fetch per asset, requests, estimated credits and duration. Reads the
 * ledger; asks CoinCap nothing (`--top` takes the ids from the newest stored `/assets` snapshot).
 */
export async function planBackfill(warehouse: Warehouse, options: BackfillOptions): Promise<BackfillPlan> {
  const ctx = resolveContext(options)
  let ids: readonly string[]
  let assetRequests: BackfillPlan['assetRequests'] = { requests: 0, credits: 0 }
  if ('ids' in options.assets) ids = options.assets.ids
  else {
    const top = options.assets.top
    const stored = await topStoredAssets(warehouse.sql, top)
    ids = stored.ids
    assetRequests = {
      requests: 1,
      credits: estimateCredits(top * ASSET_RECORD_BYTES),
      note: stored.observedAt
        ? `ids of the top ${top} from the stored snapshot of ${stored.observedAt.toISOString()}; the backfill asks CoinCap (1 request)`
        : `no stored /assets snapshot to name the top ${top}: run 'crypto-etl run' first, or give --assets`,
    }
  }
  const works: AssetWork[] = []
  for (const asset of ids) works.push(await planAsset(warehouse, ctx, asset))
  return makePlan(ctx, works, assetRequests)
}

/** Asks CoinCap for one range. `end` goes as `end - 1`: the answer is half-open whatever CoinCap's `end` means. */
async function fetchRange(client: CoincapClient, asset: string, interval: Interval, range: TimeRange): Promise<Answer> {
  const answers = client.history(asset, interval, { start: range.start, end: range.end - 1 })
  for await (const answer of answers) return answer
  throw new EtlError(`CoinCap sent no answer for ${asset} ${interval}.`, ExitCode.internal)
}

/** Starts fetching up to `depth` windows ahead of the one handed out, so loading never waits on the network alone. */
function* prefetch<T>(items: readonly T[], depth: number, start: (item: T) => Promise<Answer>) {
  const inFlight: [T, Promise<Answer>][] = []
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

/** A window once CoinCap has answered, follow-ups included. */
interface Fetched {
  answers: Answer[]
  points: number
  /** What the ledger records: `pending` leaves a recent window without points to the next run. */
  status: 'done' | 'empty' | 'pending'
  /** The range the mark covers: the window, or up to its last point when it is recent. */
  record: TimeRange
  requests: number
}

/** CoinCap may not have published the newest buckets yet: missing points this close to now are not holes. */
const recentMs = (step: number) => Math.max(3 * step, 3_600_000)

/**
 * Completes a window from its first answer. Empty where data should be (after data was seen): the two halves
 * are asked once. A long run of missing points at either edge (an answer cut short): that edge is asked
 * again, as long as each follow-up brings new points. What is still missing is recorded as it is: holes.
 */
async function completeWindow(
  fetch: (range: TimeRange) => Promise<Answer>,
  window: TimeRange,
  interval: Interval,
  first: Answer,
  when: { dataBefore: boolean; recent: boolean },
): Promise<Fetched> {
  const times = new Set<number>()
  const add = (answer: Answer) => {
    for (const p of validateRecords('history', answer.data).valid) {
      if (p.time >= window.start && p.time < window.end) times.add(p.time)
    }
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
    const edges = suspiciousEdges(sorted, window, interval).filter((e) => !(when.recent && e.end === window.end))
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

function asEtlError(error: unknown): EtlError {
  if (error instanceof EtlError) return error
  return new EtlError((error as Error)?.message ?? String(error), ExitCode.internal)
}

function interruption(error: unknown, signal: AbortSignal | undefined): InterruptedError | undefined {
  if (signal?.aborted && signal.reason instanceof InterruptedError) return signal.reason
  return error instanceof InterruptedError ? error : undefined
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason
}

interface RunState {
  runId: number
  failures: string[]
  firstError?: EtlError
}

function newOutcome(asset: string): AssetOutcome {
  return {
    asset,
    status: 'ok',
    windows: { planned: 0, skipped: 0, done: 0, empty: 0, failed: 0, short: 0 },
    points: 0,
    rows: 0,
    missing: 0,
    rejected: 0,
  }
}

/** Backfills one asset under its lock; throws only what ends the whole backfill (signal, key, database, API down). */
async function backfillAsset(
  warehouse: Warehouse,
  ctx: Context,
  client: CoincapClient,
  outcome: AssetOutcome,
  state: RunState,
  options: BackfillOptions,
): Promise<void> {
  const { asset } = outcome
  const { interval } = ctx
  const { sql, schema } = warehouse
  const { signal, events } = options
  const key = { assetId: asset, interval }
  const lock = await tryLock(warehouse, `backfill:${asset}:${interval}`)
  if (!lock) {
    outcome.status = 'skipped'
    events?.assetSkipped?.(asset, `another backfill of ${asset} ${interval} is running`)
    return
  }
  try {
    // Planned again under the lock: another backfill may have finished windows since the plan was shown.
    const work = await planAsset(warehouse, ctx, asset)
    const plan = toAssetPlan(work, interval)
    outcome.windows.planned = plan.requests
    outcome.windows.skipped = plan.skipped
    await insertPending(sql, key, work.windows)
    let seenData = false
    let consecutive = 0
    const fetch = (range: TimeRange) => fetchRange(client, asset, interval, range)
    for (const [window, fetching] of prefetch(work.windows, options.prefetch ?? 4, fetch)) {
      throwIfAborted(signal)
      const dataBefore = seenData || (work.firstData !== null && work.firstData < window.start)
      const recent = window.end > ctx.now - recentMs(ctx.step)
      let got: Fetched
      try {
        got = await completeWindow(fetch, window, interval, await fetching, { dataBefore, recent })
      } catch (error) {
        const interrupted = interruption(error, signal)
        if (interrupted) throw interrupted
        const etl = asEtlError(error)
        if (etl instanceof ApiAuthError) throw etl
        await markFailed(sql, key, window)
        outcome.windows.failed += 1
        state.failures.push(`${asset} ${isoOf(window.start)}..${isoOf(window.end)}: ${etl.message}`)
        state.firstError ??= etl
        events?.windowFailed?.(asset, window, etl)
        // A 400 or 404 (unknown asset) fails every window of this asset alike.
        if (etl instanceof UsageError) {
          outcome.error = etl.message
          await dropUntried(sql, key)
          break
        }
        if (etl.exitCode === ExitCode.apiUnavailable && ++consecutive >= MAX_CONSECUTIVE_FAILURES) throw etl
        continue
      }
      consecutive = 0
      let rows = 0
      let rejected = 0
      await sql.begin(async (tx) => {
        for (const answer of got.answers) {
          throwIfAborted(signal)
          const loaded = await loadAnswer(tx, schema, answer, state.runId)
          rows += loaded.rows
          rejected += loaded.rejected
        }
        if (got.status !== 'pending') await markFinished(tx, key, got.record, got.status, got.points)
        throwIfAborted(signal)
      })
      seenData ||= got.points > 0
      const expected = expectedPoints(got.record, interval)
      outcome.points += got.points
      outcome.rows += rows
      outcome.rejected += rejected
      if (got.status === 'done') outcome.windows.done += 1
      if (got.status === 'empty') outcome.windows.empty += 1
      if (got.status === 'done' && got.points < expected) {
        outcome.windows.short += 1
        outcome.missing += expected - got.points
      }
      events?.windowFinished?.({
        asset,
        ...window,
        status: got.status,
        points: got.points,
        expected,
        rows,
        requests: got.requests,
      })
    }
  } finally {
    await lock.release()
  }
  const finished = outcome.windows.done + outcome.windows.empty
  if (outcome.windows.failed > 0) outcome.status = finished > 0 ? 'partial' : 'failed'
}

async function resolveAssetIds(client: CoincapClient, assets: BackfillAssets): Promise<string[]> {
  if ('ids' in assets) return [...assets.ids]
  const ids: string[] = []
  for await (const answer of client.assets({ limit: assets.top })) {
    ids.push(...validateRecords('assets', answer.data).valid.map((a) => a.id))
  }
  return ids
}

function apiTotals(client: CoincapClient): BackfillResult['api'] {
  const s = client.stats
  const history = s.byDataset.history?.requests ?? 0
  return { requests: s.requests, historyRequests: history, credits: s.credits, bytes: s.bytes, retries: s.retries }
}

/**
 * Runs a backfill: plans (announced through `events.planned` before any history request), then per asset
 * under its lock fetches and loads each window not yet done. Throws PartialError (3) when some windows
 * failed (the ledger marks them `failed`; a re-run retries them), the first error when nothing could be
 * done, ApiAuthError (77) at once, InterruptedError on a signal; `etl_runs` records every outcome.
 */
export async function runBackfill(
  warehouse: Warehouse,
  client: CoincapClient,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const started = performance.now()
  const ctx = resolveContext(options)
  const { sql } = warehouse
  const state: RunState = { runId: await startRun(sql, 'backfill', ['history'], options.version), failures: [] }
  const outcomes: AssetOutcome[] = []
  let fatal: unknown
  let interrupted: InterruptedError | undefined
  try {
    const ids = await resolveAssetIds(client, options.assets)
    const works: AssetWork[] = []
    for (const asset of ids) works.push(await planAsset(warehouse, ctx, asset))
    const assetStats = client.stats.byDataset.assets
    const assetRequests = { requests: assetStats?.requests ?? 0, credits: assetStats?.credits ?? 0 }
    options.events?.planned?.(makePlan(ctx, works, assetRequests))
    for (const work of works) {
      const outcome = newOutcome(work.asset)
      outcomes.push(outcome)
      await backfillAsset(warehouse, ctx, client, outcome, state, options)
    }
  } catch (error) {
    interrupted = interruption(error, options.signal)
    if (!interrupted) fatal = error
  }

  const count = (pick: (o: AssetOutcome) => number) => outcomes.reduce((n, o) => n + pick(o), 0)
  const finished = count((o) => o.windows.done + o.windows.empty)
  const failed = count((o) => o.windows.failed) > 0 || fatal !== undefined
  const status: BackfillResult['status'] = interrupted
    ? 'interrupted'
    : failed
      ? finished > 0
        ? 'partial'
        : 'failed'
      : outcomes.length > 0 && outcomes.every((o) => o.status === 'skipped')
        ? 'skipped'
        : 'ok'
  const rows = count((o) => o.rows)
  const ms = performance.now() - started
  const result: BackfillResult = {
    runId: state.runId,
    status,
    interval: ctx.interval,
    windowMs: ctx.windowMs,
    fillGaps: ctx.fillGaps,
    assets: outcomes,
    rows,
    api: apiTotals(client),
    ms: Math.round(ms),
    rowsPerSecond: ms > 0 ? Math.round((rows * 1000) / ms) : 0,
  }
  const fatalText = fatal === undefined ? undefined : asEtlError(fatal).message
  const error = interrupted?.message ?? [fatalText, ...state.failures.slice(0, 20)].filter(Boolean).join('; ')
  const recorded = finishRun(
    sql,
    state.runId,
    {
      status,
      rows: { history: rows },
      rejected: count((o) => o.rejected),
      apiRequests: result.api.requests,
      apiCredits: result.api.credits,
      error: error || undefined,
    },
    options.secrets,
  )
  // When the database itself failed, its error is the one to report, not a failed bookkeeping write.
  if (fatal !== undefined) await recorded.catch(() => {})
  else await recorded
  if (interrupted) throw interrupted
  if (fatal instanceof ApiAuthError || (fatal !== undefined && status === 'failed')) throw fatal
  if (fatal !== undefined && !(fatal instanceof EtlError)) throw fatal
  if (status === 'partial') {
    const failedWindows = count((o) => o.windows.failed)
    throw new PartialError(
      `Partial backfill (run ${state.runId}): ${finished} windows loaded, ${failedWindows} failed` +
        `${fatalText ? `, then stopped: ${fatalText}` : ''}${state.failures[0] ? ` (first: ${state.failures[0]})` : ''}.`,
      'The ledger (backfill_windows) marks them failed; run the same command again to retry only those.',
    )
  }
  if (status === 'failed') throw state.firstError ?? new EtlError('Backfill failed.', ExitCode.internal)
  return result
}
