/**
 * Where, when and whether a statement is sent, decided outside postgres.js. A postgres.js Query is sent by
 * its `handler` when first awaited (internal, stable through 3.4.x; see writing/transactions.ts): replacing
 * the handler reroutes it. Pinned settings, deadlines and guarded transactions all do it this way.
 */

/** The fields of a postgres.js Query that send and settle it. */
export interface QueryInternals {
  handler: ((query: QueryInternals) => void) & { debug?: unknown }
  resolve(value: unknown): void
  reject(error: unknown): void
  then(onFulfilled: () => void, onRejected: () => void): unknown
  catch(onRejected: () => void): unknown
  executed: boolean
  cancel(): unknown
}

/** Sends `query` its own way; `send` sends it as it would have been. */
export type Route = (query: QueryInternals, send: (query: QueryInternals) => void) => void

function isQuery(value: unknown): value is QueryInternals {
  const q = value as Partial<QueryInternals> | null
  return typeof q?.handler === 'function' && typeof q.reject === 'function'
}

/** `value`, if it is a query, sent through `route` (anything else is returned as it is). */
function routed<T>(value: T, route: Route): T {
  if (!isQuery(value)) return value
  const send = value.handler
  value.handler = Object.assign((query: QueryInternals) => route(query, send), { debug: send.debug })
  return value
}

/**
 * `sql` (a client or a transaction) whose statements, tagged, `unsafe` or `file`, are sent through `route`;
 * the properties in `overrides` (e.g. `begin`) replace its own.
 */
export function routeStatements<S extends object>(sql: S, route: Route, overrides: Record<string, unknown> = {}): S {
  return new Proxy(sql, {
    apply: (target, self, args) => routed(Reflect.apply(target as (...a: unknown[]) => unknown, self, args), route),
    get(target, key) {
      if (typeof key === 'string' && Object.hasOwn(overrides, key)) return overrides[key]
      const value: unknown = Reflect.get(target, key)
      if ((key !== 'unsafe' && key !== 'file') || typeof value !== 'function') return value
      return (...args: unknown[]) => routed(Reflect.apply(value, target, args), route)
    },
  })
}
