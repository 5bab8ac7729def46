/** Masking of secrets (API key, database password) in anything shown to a person or stored. */

const MASK = '***'

/** Replaces every occurrence of each secret (and its URL-encoded form) in `text` with `***`. */
export function maskSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text
  for (const secret of secrets) {
    // Very short "secrets" would mask ordinary words; real keys and passwords are longer.
    if (!secret || secret.length < 3) continue
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join(MASK)
  }
  return out
}

/** A Postgres URL with its password replaced by `***`, for messages. Unparseable input is hidden whole. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = MASK
    return parsed.toString()
  } catch {
    return '<unparseable URL>'
  }
}
