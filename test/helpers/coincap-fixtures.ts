/**
 * CoinCap fixtures for tests: reading `fixtures/coincap/`, and generating records in the shape of the
 * captured samples (`fixtures/coincap/samples/`), deterministic for a given seed.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** `fixtures/coincap/` of this repository. */
export const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/coincap/', import.meta.url))

/** The text of `fixtures/coincap/<name>`. */
export function fixtureText(name: string): string {
  return readFileSync(`${FIXTURES_DIR}${name}`, 'utf8')
}

/** The parsed JSON of `fixtures/coincap/<name>`. */
export function fixtureJson<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(fixtureText(name)) as T
}

/** A CoinCap list answer. */
export interface Envelope<T = unknown> {
  data: T[]
  timestamp: number
}

/** The envelope timestamp tests use. */
const FIXED_TIMESTAMP = 1_778_331_718_861

export function envelope<T>(data: T[], timestamp = FIXED_TIMESTAMP): Envelope<T> {
  return { data, timestamp }
}

/** mulberry32: a small seeded PRNG in [0, 1), so generated fixtures are the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * A decimal the way CoinCap prints one: a double through 18 decimal places, artefacts included
 * (e.g. `"0.999700000000000033"`), as the samples show.
 */
export function coincapDecimal(value: number, places = 18): string {
  return value.toFixed(places)
}

function hex(random: () => number, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += Math.floor(random() * 16).toString(16)
  return out
}

/** Who an asset is; the figures are generated. */
export interface AssetIdentity {
  id: string
  symbol: string
  name: string
}

/** An asset record in the v3 shape of `samples/v3-assets.json`, with generated figures. */
export function makeAsset(rank: number, who: AssetIdentity, random: () => number): Record<string, unknown> {
  // Market caps fall with rank (a jitter small enough to keep the order); prices spread over 0.01 to 1,000 USD,
  // and stablecoins sit at 1, so the demo reads like a real top 100.
  const stable = /^(USDC|DAI|TUSD|USDT|FDUSD|USDE)$/.test(who.symbol)
  const cap = (9e10 / Math.max(1, rank - 3) ** 1.15) * (1 + (random() - 0.5) * 0.008)
  const price = stable ? 1 + (random() - 0.5) * 0.002 : 10 ** (random() * 5 - 2)
  const supply = Math.round(cap / price)
  const change = stable ? (random() - 0.5) * 0.1 : (random() - 0.5) * 12
  const capped = random() < 0.4
  const onEthereum = random() < 0.35
  const address = `0x${hex(random, 40)}`
  return {
    id: who.id,
    rank: String(rank),
    symbol: who.symbol,
    name: who.name,
    supply: coincapDecimal(supply),
    maxSupply: capped ? coincapDecimal(supply * (1 + random())) : null,
    marketCapUsd: coincapDecimal(price * supply),
    volumeUsd24Hr: coincapDecimal(price * supply * (0.005 + random() * 0.1)),
    priceUsd: coincapDecimal(price),
    changePercent24Hr: String(change),
    vwap24Hr: random() < 0.05 ? null : String(price * (1 + (random() - 0.5) * 0.02)),
    explorer: onEthereum
      ? `https://etherscan.io/token/${address}`
      : random() < 0.1
        ? null
        : `https://explorer.${who.id}.org/`,
    tokens: onEthereum ? { '1': [address], ...(random() < 0.5 ? { '56': [`0x${hex(random, 40)}`] } : {}) } : {},
  }
}

/** `count` assets ranked from `firstRank`, with ids `asset-<rank>`: for paging tests. */
export function makeAssets(count: number, firstRank = 1, seed = 7): Record<string, unknown>[] {
  const random = seededRandom(seed + firstRank)
  return Array.from({ length: count }, (_, i) => {
    const rank = firstRank + i
    return makeAsset(rank, { id: `asset-${rank}`, symbol: `A${rank}`, name: `Asset ${rank}` }, random)
  })
}
