/**
 * Login roles on the test server for privilege tests: unique names (tests share the server), a URL that
 * connects as each (the test server trusts local connections), and `drop()` that removes them and
 * every privilege they were granted.
 */
import type postgres from 'postgres'
import { TEST_DATABASE_URL } from './env.js'

export interface TestRoles<K extends string> {
  /** The role name of each kind, e.g. `{ owner: 'crypto_etl_t_owner_k3x9' }`. */
  name: Record<K, string>
  /** TEST_DATABASE_URL, connecting as the role of `kind`. */
  url(kind: K): string
  drop(): Promise<void>
}

/** Creates one login role (no other privilege) per kind. */
export async function createRoles<K extends string>(admin: postgres.Sql, kinds: readonly K[]): Promise<TestRoles<K>> {
  const suffix = Math.random().toString(36).slice(2, 8)
  const name = Object.fromEntries(kinds.map((k) => [k, `crypto_etl_t_${k}_${suffix}`])) as Record<K, string>
  for (const role of Object.values<string>(name)) await admin.unsafe(`create role "${role}" login`)
  return {
    name,
    url(kind) {
      const url = new URL(TEST_DATABASE_URL)
      url.username = name[kind]
      url.password = ''
      return url.href
    },
    async drop() {
      for (const role of Object.values<string>(name)) {
        // DROP OWNED revokes what the role was granted (on the database too) and drops what it still owns.
        await admin.unsafe(`drop owned by "${role}" cascade`)
        await admin.unsafe(`drop role "${role}"`)
      }
    },
  }
}
