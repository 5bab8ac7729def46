/** Suggestions for a mistyped command or flag: the closest known name, if one is close enough. */

/** Edits between `a` and `b`, a swap of two neighbours counting as one (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1)
      }
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The known name closest to `word`: within two edits (one for words of four letters or fewer), or one that
 * starts with it; undefined when none is close.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const typed = word.toLowerCase()
  const limit = typed.replace(/^-+/, '').length <= 4 ? 1 : 2
  let best: { name: string; distance: number } | undefined
  for (const name of known) {
    const distance = editDistance(typed, name.toLowerCase())
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance }
  }
  if (best) return best.name
  const bare = typed.replace(/^-+/, '')
  return bare.length >= 3 ? known.find((name) => name.toLowerCase().startsWith(typed)) : undefined
}

/** `Unknown flag --dataset. Did you mean --datasets?`, or without the question when nothing is close. */
export function unknownMessage(what: 'command' | 'flag', word: string, known: readonly string[]): string {
  const suggestion = closest(word, known)
  return `Unknown ${what} ${word}.${suggestion ? ` Did you mean ${suggestion}?` : ''}`
}

/** The parts of oclif's "Nonexistent flag" parse error read here. */
interface NonexistentFlags {
  flags?: unknown
  parse?: { input?: { flags?: Record<string, { hidden?: boolean }> } }
}

/**
 * oclif's `Nonexistent flag: --dataset` as `Unknown flag --dataset. Did you mean --datasets?`, naming the
 * closest flag of the command that was parsed; undefined for any other error.
 */
export function unknownFlagMessage(error: unknown): string | undefined {
  const err = error as NonexistentFlags & Error
  if (!(error instanceof Error) || !Array.isArray(err.flags) || !/^Nonexistent flags?:/.test(err.message)) return
  const known = Object.entries(err.parse?.input?.flags ?? {})
    .filter(([, flag]) => !flag.hidden)
    .map(([name]) => `--${name}`)
  return unknownMessage('flag', String(err.flags[0]).split('=')[0]!, known)
}
