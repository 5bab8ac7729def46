/** Asks the dashboard's JSON endpoints; a failed answer becomes an ApiError with the server's message. */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** GET `/api/<name>?params` (unset params left out). */
export async function getJson<T>(name: string, params: Record<string, string | undefined> = {}): Promise<T> {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, value)
  const suffix = query.size ? `?${query}` : ''
  let response: Response
  try {
    response = await fetch(`/api/${name}${suffix}`, { headers: { accept: 'application/json' } })
  } catch {
    throw new ApiError('The dashboard does not answer: is crypto-etl dashboard still running?', 0)
  }
  const body = (await response.json().catch(() => ({}))) as { error?: { message: string; hint?: string } }
  if (!response.ok) throw new ApiError(body.error?.message ?? response.statusText, response.status, body.error?.hint)
  return body as T
}
