/**
 * The dashboard's JSON endpoints. Each calls the function behind a command (`runQuery` for `query`,
 * `getStatus` for `status`) and answers its result as `--json` prints it: decimals stay the strings the
 * database sent, times are ISO strings. The page formats them; nothing here rounds or converts.
 */
import { currencyChoices, type QueryOptions, type QueryResult, runQuery } from '../pipeline/query.js'
import { getStatus, type StatusResult } from '../pipeline/status.js'
import { VERSION } from '../core/version.js'
import type { Warehouse } from '../warehouse/connection/connect.js'
import type { DashboardPlan } from './plan.js'
import { type DashboardParams, type ParamName, parseParams, RANGES, rangeStart } from './params.js'

export interface ApiContext {
  /** `status --max-age`: the freshness the health panel judges. */
  maxAgeMs: number
  /** How often the page refreshes itself. */
  refreshMs: number
  /** The CoinCap plan whose monthly credits the page compares this month's use with. */
  plan?: DashboardPlan
  /** The clock (injectable for tests). */
  now?: () => Date
}

/** What `/api/meta` answers: what the page needs before it asks for data. */
export interface DashboardMeta {
  version: string
  database: Warehouse['kind']
  schema: string
  refreshMs: number
  maxAgeMs: number
  plan: ApiContext['plan'] | null
  currencies: string[]
  ranges: string[]
}

/** What `/api/status` answers: `status --max-age --json`, with the plan the credits are judged against. */
export type DashboardStatus = StatusResult & { plan: ApiContext['plan'] | null }

interface Endpoint {
  params: readonly ParamName[]
  run(warehouse: Warehouse, params: DashboardParams, context: ApiContext): Promise<unknown>
}

/**
 * A chart of a long range (7 d and over) shows at most this many stored points per source, one per bucket
 * (`query history --points`): a 30-day chart of five-minute snapshots reads and sends 1,440 rows, not 8,640.
 */
const CHART_POINTS = 1440
const LONG_RANGE_MS = 7 * 86_400_000

const query = (warehouse: Warehouse, options: QueryOptions): Promise<QueryResult> => runQuery(warehouse, options)
const nowOf = (context: ApiContext) => context.now?.() ?? new Date()

/** Each endpoint by name (`/api/<name>`), with the parameters it takes. */
export const ENDPOINTS: Record<string, Endpoint> = {
  latest: {
    params: ['currency', 'limit'],
    run: (w, p) => query(w, { report: 'latest', currency: p.currency, limit: p.limit ?? 50 }),
  },
  history: {
    params: ['asset', 'range', 'currency'],
    run(w, p, context) {
      const now = nowOf(context)
      const range = p.range ?? '24h'
      const since = rangeStart(range, now)
      const long = RANGES[range] === null || RANGES[range] >= LONG_RANGE_MS
      // No asset: query's own usage error ("needs exactly one asset"), a 400.
      return query(w, {
        report: 'history',
        assetIds: p.asset ? [p.asset] : [],
        since,
        until: now,
        now,
        currency: p.currency,
        points: long ? CHART_POINTS : undefined,
      })
    },
  },
  movers: {
    params: ['range', 'currency', 'limit'],
    run(w, p, context) {
      const now = nowOf(context)
      const since = rangeStart(p.range ?? '24h', now)
      return query(w, { report: 'movers', since, until: now, now, currency: p.currency, limit: p.limit ?? 5 })
    },
  },
  exchanges: {
    params: ['currency', 'limit'],
    run: (w, p) => query(w, { report: 'exchanges', currency: p.currency, limit: p.limit ?? 10 }),
  },
  status: {
    params: [],
    async run(w, _p, context): Promise<DashboardStatus> {
      const status = await getStatus(w, { maxAgeMs: context.maxAgeMs, runs: 8, now: nowOf(context) })
      return { ...status, plan: context.plan ?? null }
    },
  },
  meta: {
    params: [],
    async run(w, _p, context): Promise<DashboardMeta> {
      return {
        version: VERSION,
        database: w.kind,
        schema: w.schema,
        refreshMs: context.refreshMs,
        maxAgeMs: context.maxAgeMs,
        plan: context.plan ?? null,
        currencies: await currencyChoices(w),
        ranges: Object.keys(RANGES),
      }
    },
  },
}

/** Checks a request's parameters for an endpoint (throws UsageError, a 400) before any read. */
export function endpointParams(name: string, query: URLSearchParams): DashboardParams {
  return parseParams(query, ENDPOINTS[name]!.params)
}
