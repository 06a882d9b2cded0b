// docs/distribution.md, "Rule 10": how verification codes for cross-account distribution behave. The store applies
// these atomically; they are decided here, in one place.

/** Valid five minutes (the seed's "valid for 5 minutes"). */
export const CODE_TTL_MS = 5 * 60_000
/** Wrong tries for one pair of accounts before its pending codes are void. */
export const MAX_FAILURES = 5
/** Window in which wrong tries add up, and how long a pair stays locked once they reached the limit. */
export const FAILURE_WINDOW_MS = 15 * 60_000
export const LOCK_MS = 15 * 60_000
/** Valid codes one pair may have at once: the destination's owner is not flooded. */
export const MAX_PENDING = 5

export const codeCheck = (now: number) => ({ now, maxFailures: MAX_FAILURES, failureWindowMs: FAILURE_WINDOW_MS, lockMs: LOCK_MS })
