/**
 * The parse check of `query --sql`: one SELECT, WITH, VALUES or TABLE statement, and the names of the
 * functions it calls (so the ones that can change something outside the transaction are refused).
 * It is one of three locks: the statement also runs alone (extended protocol) in a READ ONLY transaction
 * that is rolled back, so a statement that fools this scan still cannot write.
 */

/** Statements `--sql` accepts, by their first keyword. */
const READ_ONLY_KEYWORDS = ['select', 'with', 'values', 'table'] as const

/** What the scan found in an accepted statement. */
export interface ScannedSql {
  /**
   * Every name written before a `(`, lower case unless quoted, without its schema: the functions it calls,
   * and keywords such as `as` or `values`, which name no function.
   */
  functions: string[]
}

interface Token {
  kind: 'word' | 'quoted' | 'other'
  text: string
}

/** Stands for a U&"…" name: its letters are not decoded, so it never matches a known function. */
const UNICODE_NAME = '\u0000'
const WORD_START = /[A-Za-z_\u0080-\uffff]/
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/

/** The end of a quoted run starting at `start` (a quote char), doubled quotes kept inside; -1 if unclosed. */
function closingQuote(text: string, start: number, quote: string, backslashEscapes = false): number {
  for (let i = start + 1; i < text.length; i++) {
    if (backslashEscapes && text[i] === '\\') i++
    else if (text[i] === quote) {
      if (text[i + 1] !== quote) return i
      i++
    }
  }
  return -1
}

/** Splits SQL into words, quoted identifiers and single characters, skipping comments, strings and space. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  const unclosed = (what: string) => new Error(`the statement has an unclosed ${what}`)
  let i = 0
  while (i < text.length) {
    const ch = text[i]!
    if (/\s/.test(ch)) i++
    else if (text.startsWith('--', i)) {
      const end = text.indexOf('\n', i)
      i = end < 0 ? text.length : end + 1
    } else if (text.startsWith('/*', i)) {
      // Postgres nests block comments.
      let depth = 0
      do {
        if (i >= text.length) throw unclosed('comment')
        const opens = text.startsWith('/*', i)
        if (opens || text.startsWith('*/', i)) {
          depth += opens ? 1 : -1
          i += 2
        } else i++
      } while (depth > 0)
    } else if (ch === "'") {
      const end = closingQuote(text, i, "'")
      if (end < 0) throw unclosed('string')
      i = end + 1
    } else if (ch === '"') {
      const end = closingQuote(text, i, '"')
      if (end < 0) throw unclosed('quoted name')
      tokens.push({ kind: 'quoted', text: text.slice(i + 1, end).replace(/""/g, '"') })
      i = end + 1
    } else if (ch === '$' && /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.test(text.slice(i))) {
      const tag = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(text.slice(i))![0]
      const end = text.indexOf(tag, i + tag.length)
      if (end < 0) throw unclosed('dollar-quoted string')
      i = end + tag.length
    } else if (WORD_START.test(ch)) {
      let end = i + 1
      while (end < text.length && WORD_PART.test(text[end]!)) end++
      const word = text.slice(i, end)
      if (/^[EeBbXxNn]$/.test(word) && text[end] === "'") {
        // A prefixed string (E'…' takes backslash escapes, so \' does not close it).
        const close = closingQuote(text, end, "'", /^[Ee]$/.test(word))
        if (close < 0) throw unclosed('string')
        i = close + 1
      } else if (/^[Uu]$/.test(word) && text[end] === '&' && /["']/.test(text[end + 1] ?? '')) {
        const quote = text[end + 1]!
        const close = closingQuote(text, end + 1, quote)
        if (close < 0) throw unclosed(quote === '"' ? 'quoted name' : 'string')
        // A Unicode-escaped name cannot be checked against the catalogue, so it never counts as safe.
        if (quote === '"') tokens.push({ kind: 'quoted', text: UNICODE_NAME })
        i = close + 1
      } else {
        tokens.push({ kind: 'word', text: word.toLowerCase() })
        i = end
      }
    } else {
      tokens.push({ kind: 'other', text: ch })
      i++
    }
  }
  return tokens
}

/**
 * Checks that `text` is exactly one SELECT, WITH, VALUES or TABLE statement (a trailing `;` allowed)
 * and lists the functions it calls.
 * @returns the problem in words (for a usage error), or what the statement calls.
 */
export function scanReadOnlySql(text: string): { problem: string } | ScannedSql {
  let tokens: Token[]
  try {
    tokens = tokenize(text)
  } catch (error) {
    return { problem: (error as Error).message }
  }
  const semicolon = tokens.findIndex((t) => t.text === ';')
  if (semicolon >= 0 && tokens.slice(semicolon + 1).some((t) => t.text !== ';')) {
    return { problem: 'it takes one statement, and this has more (a ; between statements)' }
  }
  const body = semicolon >= 0 ? tokens.slice(0, semicolon) : tokens
  const first = body.find((t) => t.text !== '(')
  if (!first) return { problem: 'the statement is empty' }
  if (first.kind !== 'word' || !(READ_ONLY_KEYWORDS as readonly string[]).includes(first.text)) {
    return { problem: `it takes a SELECT, WITH, VALUES or TABLE query, not ${first.text.toUpperCase()}` }
  }
  const functions = new Set<string>()
  for (const [i, t] of body.entries()) {
    if (t.kind === 'other' || body[i + 1]?.text !== '(') continue
    if (t.text === UNICODE_NAME) return { problem: 'a function named with U& escapes cannot be checked' }
    functions.add(t.text)
  }
  return { functions: [...functions] }
}

/** A `--sql` statement refused before or instead of running; the message says why. */
export class RefusedSqlError extends Error {}

/**
 * Volatile functions that change nothing but the answer or the time it takes (the statement timeout
 * bounds pg_sleep). Every other volatile function is refused: set_config, nextval, lo_export,
 * pg_file_write, advisory locks, query_to_xml (which runs a query given as text), dblink and the like.
 */
export const HARMLESS_VOLATILE_FUNCTIONS = [
  'random',
  'random_normal',
  'clock_timestamp',
  'timeofday',
  'gen_random_uuid',
  'pg_sleep',
  'pg_sleep_for',
  'pg_sleep_until',
] as const
