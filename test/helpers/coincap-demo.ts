/**
 * Builds the demo answers of `fixtures/coincap/` (what `run --demo` replays) from the captured samples in
 * `fixtures/coincap/samples/` plus generated records. Deterministic. Rewrite the files with:
 *   npx tsx test/helpers/coincap-demo.ts
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import {
  type AssetIdentity,
  coincapDecimal,
  type Envelope,
  FIXTURES_DIR,
  fixtureJson,
  makeAsset,
  seededRandom,
} from './coincap-fixtures.js'

type Row = Record<string, unknown>

/** Ranks 5 to 100 of a 2025 top-100 (ids as CoinCap slugs); ranks 1 to 4 come from `samples/v3-assets.json`. */
const TOP_ASSETS = `ripple XRP XRP|solana SOL Solana|usd-coin USDC USDC|tron TRX TRON|dogecoin DOGE Dogecoin|cardano ADA Cardano
|bitcoin-cash BCH Bitcoin Cash|chainlink LINK Chainlink|stellar XLM Stellar|unus-sed-leo LEO UNUS SED LEO|avalanche AVAX Avalanche
|hedera-hashgraph HBAR Hedera|litecoin LTC Litecoin|monero XMR Monero|shiba-inu SHIB Shiba Inu|multi-collateral-dai DAI Dai
|polkadot DOT Polkadot|uniswap UNI Uniswap|crypto-com-coin CRO Cronos|near-protocol NEAR NEAR Protocol|aave AAVE Aave
|internet-computer ICP Internet Computer|ethereum-classic ETC Ethereum Classic|polygon POL Polygon|bittensor TAO Bittensor
|cosmos ATOM Cosmos|okb OKB OKB|algorand ALGO Algorand|arbitrum ARB Arbitrum|filecoin FIL Filecoin|vechain VET VeChain
|render-token RENDER Render|quant QNT Quant|optimism OP Optimism|the-graph GRT The Graph|injective-protocol INJ Injective
|stacks STX Stacks|maker MKR Maker|theta THETA Theta Network|fantom FTM Fantom|lido-dao LDO Lido DAO|the-sandbox SAND The Sandbox
|decentraland MANA Decentraland|tezos XTZ Tezos|eos EOS EOS|kucoin-token KCS KuCoin Token|axie-infinity AXS Axie Infinity
|gala GALA Gala|elrond-egld EGLD MultiversX|flow FLOW Flow|neo NEO Neo|iota IOTA IOTA|bitcoin-sv BSV Bitcoin SV|trueusd TUSD TrueUSD
|chiliz CHZ Chiliz|pancakeswap CAKE PancakeSwap|curve-dao-token CRV Curve DAO Token|zcash ZEC Zcash|klaytn KLAY Klaytn
|ecash XEC eCash|mina MINA Mina|synthetix-network-token SNX Synthetix|conflux-network CFX Conflux|dash DASH Dash|gnosis-gno GNO Gnosis
|1inch 1INCH 1inch Network|basic-attention-token BAT Basic Attention Token|compound COMP Compound|enjin-coin ENJ Enjin Coin
|zilliqa ZIL Zilliqa|nexo NEXO Nexo|decred DCR Decred|qtum QTUM Qtum|loopring LRC Loopring|celo CELO Celo|holo HOT Holo
|ravencoin RVN Ravencoin|ankr ANKR Ankr|yearn-finance YFI yearn.finance|kusama KSM Kusama|zencash ZEN Horizen|iotex IOTX IoTeX
|waves WAVES Waves|icon ICX ICON|ontology ONT Ontology|sushiswap SUSHI SushiSwap|golem-network-tokens GLM Golem|audius AUDIO Audius
|omg OMG OMG Network|storj STORJ Storj|skale-network SKL SKALE|siacoin SC Siacoin|digibyte DGB DigiByte|nano XNO Nano|status SNT Status
|wax WAXP WAX`

function identities(): AssetIdentity[] {
  return TOP_ASSETS.split('|').map((entry) => {
    const [id = '', symbol = '', ...name] = entry.trim().split(' ')
    return { id, symbol, name: name.join(' ') }
  })
}

/** 100 assets: the four captured ones, then 96 generated with real ids and made-up figures. */
export function demoAssets(): Envelope<Row> {
  const sample = fixtureJson<Envelope<Row>>('samples/v3-assets.json')
  const random = seededRandom(2025)
  const generated = identities().map((who, i) => makeAsset(i + 5, who, random))
  return { data: [...sample.data, ...generated], timestamp: sample.timestamp }
}

const EXCHANGES = `binance Binance https://www.binance.com/|coinbase Coinbase https://www.coinbase.com/
|okx OKX https://www.okx.com/|bybit Bybit https://www.bybit.com/|kraken Kraken https://www.kraken.com/
|kucoin KuCoin https://www.kucoin.com/|gate Gate https://www.gate.io/|bitfinex Bitfinex https://www.bitfinex.com/
|bitstamp Bitstamp https://www.bitstamp.net/|gemini Gemini https://www.gemini.com/|htx HTX https://www.htx.com/
|crypto-com Crypto.com Exchange https://crypto.com/exchange/`

/** The two documented exchanges (binanceus, dead itbit) plus 12 generated live ones. */
export function demoExchanges(): Envelope<Row> {
  const sample = fixtureJson<Envelope<Row>>('samples/v3-exchanges.json')
  const random = seededRandom(11)
  const entries = EXCHANGES.split('|').map((line) => line.trim().split(' '))
  let share = 40
  const generated = entries.map((words, i) => {
    const [exchangeId = '', ...rest] = words
    share *= 0.55 + random() * 0.2
    return {
      exchangeId,
      name: rest.slice(0, -1).join(' '),
      rank: String(i + 1),
      percentTotalVolume: `${coincapDecimal(share)}${'0'.repeat(18)}`,
      volumeUsd: coincapDecimal(share * 5e8, 16),
      tradingPairs: String(Math.round(80 + random() * 1500)),
      socket: random() < 0.5,
      exchangeUrl: rest.at(-1) ?? '',
      updated: sample.timestamp - Math.round(random() * 60_000),
    }
  })
  return { data: [...generated, ...sample.data], timestamp: sample.timestamp }
}

const RATES = `euro EUR € fiat 1.0842|british-pound-sterling GBP £ fiat 1.2712|japanese-yen JPY ¥ fiat 0.006712
|swiss-franc CHF Fr. fiat 1.1368|canadian-dollar CAD $ fiat 0.7342|australian-dollar AUD $ fiat 0.6621
|chinese-yuan-renminbi CNY ¥ fiat 0.1387|indian-rupee INR ₹ fiat 0.01198|south-korean-won KRW ₩ fiat 0.000741
|brazilian-real BRL R$ fiat 0.1791|mexican-peso MXN $ fiat 0.05843|ethereum ETH Ξ crypto 2356.31
|litecoin LTC Ł crypto 64.82|monero XMR - crypto 151.27`

/** The captured bitcoin and USD rates plus 14 generated ones (USD rates of late 2024 or so). */
export function demoRates(): Envelope<Row> {
  const sample = fixtureJson<Envelope<Row>>('samples/v3-rates.json')
  const random = seededRandom(13)
  const generated = RATES.split('|').map((line) => {
    const [id = '', symbol = '', currencySymbol = '', type = '', rate = '0'] = line.trim().split(' ')
    return {
      id,
      symbol,
      currencySymbol: currencySymbol === '-' ? null : currencySymbol,
      type,
      rateUsd: coincapDecimal(Number(rate) * (1 + (random() - 0.5) * 0.001), 16),
    }
  })
  return { data: [...sample.data, ...generated], timestamp: sample.timestamp }
}

const MARKETS = `binance bitcoin BTC tether USDT 57480|binance ethereum ETH tether USDT 2350|binance solana SOL tether USDT 134.2
|binance ripple XRP tether USDT 0.5312|binance ethereum ETH bitcoin BTC 0.04089|coinbase bitcoin BTC united-states-dollar USD 57495
|coinbase ethereum ETH united-states-dollar USD 2352.1|coinbase solana SOL united-states-dollar USD 134.35
|kraken bitcoin BTC euro EUR 53020|kraken bitcoin BTC united-states-dollar USD 57490|kraken ethereum ETH euro EUR 2168.7
|okx bitcoin BTC tether USDT 57478|okx dogecoin DOGE tether USDT 0.1012|bybit bitcoin BTC tether USDT 57481
|bitstamp bitcoin BTC united-states-dollar USD 57502|gemini bitcoin BTC united-states-dollar USD 57510
|binanceus bitcoin BTC united-states-dollar USD 57470`

/** The documented all-zero binanceus market plus 17 generated ones on the demo exchanges. */
export function demoMarkets(): Envelope<Row> {
  const sample = fixtureJson<Envelope<Row>>('samples/v3-markets.json')
  const usd: Record<string, number> = { USDT: 0.9997, USD: 1, EUR: 1.0842, BTC: 57480 }
  const random = seededRandom(17)
  const perExchange = new Map<string, number>()
  const generated = MARKETS.split('|').map((line) => {
    const [exchangeId = '', baseId = '', baseSymbol = '', quoteId = '', quoteSymbol = '', quote = '0'] = line
      .trim()
      .split(' ')
    const rank = (perExchange.get(exchangeId) ?? 0) + 1
    perExchange.set(exchangeId, rank)
    const priceQuote = Number(quote) * (1 + (random() - 0.5) * 0.001)
    return {
      exchangeId,
      rank: String(rank),
      baseSymbol,
      baseId,
      quoteSymbol,
      quoteId,
      priceQuote: coincapDecimal(priceQuote, 16),
      priceUsd: coincapDecimal(priceQuote * (usd[quoteSymbol] ?? 1), 16),
      volumeUsd24Hr: coincapDecimal(1e6 + random() * 9e8, 16),
      percentExchangeVolume: coincapDecimal(random() * 30, 16),
      tradesCount24Hr: random() < 0.15 ? null : String(Math.round(1000 + random() * 900_000)),
      updated: sample.timestamp - Math.round(random() * 30_000),
    }
  })
  return { data: [...generated, ...sample.data], timestamp: sample.timestamp }
}

const HOUR_MS = 3_600_000

/** A week of bitcoin h1 points ending at the last full hour before the sample's timestamp; the 3 captured points kept. */
export function demoHistory(): Envelope<Row> {
  const sample = fixtureJson<Envelope<Row>>('samples/v3-asset-history-bitcoin-h1.json')
  const captured = new Map(sample.data.map((point) => [point.time as number, point]))
  const last = Math.floor(sample.timestamp / HOUR_MS) * HOUR_MS - HOUR_MS
  const times = Array.from({ length: 168 }, (_, i) => last - (167 - i) * HOUR_MS)
  const random = seededRandom(19)
  const step = () => 1 + (random() - 0.5) * 0.008
  // A random walk out of the captured points, both ways, so they sit in it without a jump.
  const anchor = Math.max(
    0,
    times.findIndex((time) => captured.has(time)),
  )
  const prices: number[] = []
  let price = Number(captured.get(times[anchor] ?? 0)?.priceUsd ?? 57_000)
  for (let i = anchor; i < times.length; i++) {
    const point = captured.get(times[i] ?? 0)
    price = point ? Number(point.priceUsd) : price * step()
    prices[i] = price
  }
  price = prices[anchor] ?? price
  for (let i = anchor - 1; i >= 0; i--) {
    price /= step()
    prices[i] = price
  }
  const data = times.map(
    (time, i) =>
      captured.get(time) ?? { priceUsd: coincapDecimal(prices[i] ?? 0, 16), time, date: new Date(time).toISOString() },
  )
  return { data, timestamp: sample.timestamp }
}

/** One record a line: nearly as compact as the API's answer (so byte counts stay realistic) yet diffable. */
export function formatAnswer(answer: Envelope): string {
  const lines = answer.data.map((record) => JSON.stringify(record))
  return `{"data":[\n${lines.join(',\n')}\n],"timestamp":${answer.timestamp}}\n`
}

/** The demo files by name. */
export function demoFixtures(): Record<string, Envelope<Row>> {
  return {
    'assets.json': demoAssets(),
    'exchanges.json': demoExchanges(),
    'rates.json': demoRates(),
    'markets.json': demoMarkets(),
    'history-bitcoin-h1.json': demoHistory(),
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [name, answer] of Object.entries(demoFixtures())) {
    writeFileSync(`${FIXTURES_DIR}${name}`, formatAnswer(answer))
    console.log(`wrote fixtures/coincap/${name}: ${answer.data.length} records`)
  }
}
