/** One benchmark's outcome, as `npm run bench` gathers them into docs/benchmarks.md. */
export interface BenchResult {
  /** Short name, e.g. `load 1M history rows`. */
  name: string
  /** What was measured, each a number with its unit in the key, e.g. `{ 'rows/s': 250000, 'peak MiB': 120 }`. */
  metrics: Record<string, number | string>
  /** The target of the issue and whether it was met, in one line, e.g. `ratio 0.82 >= 0.6: met`. */
  verdict: string
}

/** A benchmark module's contract: `bench/<name>.ts` exports `run`. */
export type Bench = () => Promise<BenchResult | BenchResult[]>
