/** `extract`: fetch the chosen datasets and write the landing format; no database involved. */
import type { Writable } from 'node:stream'
import type { CoincapClient, CoincapStats } from '../coincap/index.js'
import type { Selection } from './datasets.js'
import { formatLandingLine } from './landing.js'

export interface ExtractResult {
  /** Answers (lines) and records written per dataset. */
  answers: number
  records: Record<string, number>
  api: CoincapStats
}

/** Writes one landing line per answer to `out`, dataset after dataset, honouring back-pressure; `demo` labels each line. */
export async function extract(
  client: CoincapClient,
  selection: Selection,
  out: Writable,
  options: { demo?: boolean } = {},
): Promise<ExtractResult> {
  const result: ExtractResult = { answers: 0, records: {}, api: client.stats }
  let spent = client.stats
  for (const dataset of selection.datasets) {
    for await (const answer of client.snapshot(dataset, selection)) {
      if (out.errored) throw out.errored
      // Datasets are fetched one after the other, so what the client spent since the last answer is this one's cost.
      const now = client.stats
      const cost = { requests: now.requests - spent.requests, credits: now.credits - spent.credits }
      spent = now
      if (!out.write(formatLandingLine(answer, cost, options.demo))) await drained(out)
      result.answers += 1
      result.records[dataset] = (result.records[dataset] ?? 0) + answer.data.length
    }
  }
  result.api = client.stats
  return result
}

/** Resolves when `out` can take more, rejects when it fails meanwhile (a full disk, a closed pipe). */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      out.off('error', onError)
      resolve()
    }
    const onError = (error: Error) => {
      out.off('drain', onDrain)
      reject(error)
    }
    out.once('drain', onDrain).once('error', onError)
  })
}
