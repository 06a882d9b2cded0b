// docs/protocol.md, "The device application": back off with jitter, so that a fleet that lost its broker does not come back as a storm.

export interface BackoffOptions {
  /** First ceiling, ms (default 1000). */
  baseMs?: number
  /** Largest ceiling, ms (default 60000). */
  capMs?: number
}

/**
 * "Full jitter": a uniform draw in [0, min(cap, base * 2^attempt)). A server's Retry-After is a
 * floor; a draw of up to half of it again spreads the devices that were all told the same time.
 */
export function backoffDelay (attempt: number, opts: BackoffOptions = {}, retryAfterMs: number | null = null, random = Math.random): number {
  const base = opts.baseMs ?? 1000
  const cap = opts.capMs ?? 60_000
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30))
  const jittered = Math.floor(random() * ceiling)
  if (retryAfterMs === null) return jittered
  return retryAfterMs + Math.floor(random() * Math.min(cap, Math.max(base, retryAfterMs / 2)))
}
