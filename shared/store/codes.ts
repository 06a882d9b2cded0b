// Verification codes (docs/distribution.md, "Rule 10"), the part both backends share: which codes still count, and
// the constant-time match.
import { safeEqual } from '../sign.js'
import type { VerificationCode } from '../types.js'
import type { CodePair } from './store.js'

export const isValid = (code: VerificationCode, now: number): boolean => code.expiresAt > now

/**
 * The code `presented` matches, or null. Every candidate is compared in full (safeEqual), with no
 * early exit, so the time taken says nothing about which digits were right.
 */
export function matching (codes: VerificationCode[], presented: string): VerificationCode | null {
  let found: VerificationCode | null = null
  for (const code of codes) {
    if (safeEqual(code.code, presented) && found === null) found = code
  }
  return found
}

export const samePair = (code: VerificationCode, pair: CodePair): boolean =>
  code.sourceAccountId === pair.sourceAccountId && code.targetAccountId === pair.targetAccountId

export const byAge = (a: VerificationCode, b: VerificationCode): number => a.createdAt - b.createdAt || a.id.localeCompare(b.id)
