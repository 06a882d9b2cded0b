// POST /distribution/verification-codes: a code for (caller, destination account), sent to the
// destination's owner only (docs/distribution.md, "Rule 10"). The sender never sees it.
import { randomBytes, randomInt } from 'node:crypto'
import type { Account, VerificationCode } from '../../../shared/types.js'
import type { Sidecar } from '../../context.js'
import { nowOf } from '../../clock.js'
import { CODE_TTL_MS, MAX_PENDING } from './policy.js'
import { tooManyRequests } from './too-many.js'
import { deliverCode } from './webhook.js'

/** Six digits, uniformly drawn (leading zeros kept). */
export function newCode (): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0')
}

export async function issueCode (sidecar: Sidecar, source: Account, target: Account): Promise<VerificationCode> {
  const now = nowOf(sidecar)
  const code: VerificationCode = {
    id: randomBytes(8).toString('hex'),
    sourceAccountId: source.id,
    targetAccountId: target.id,
    code: newCode(),
    createdAt: now,
    expiresAt: now + CODE_TTL_MS
  }
  const outcome = await sidecar.store.issueCode(code, { now, maxPending: MAX_PENDING })
  if (outcome.result === 'locked') {
    throw tooManyRequests(`too many wrong verification codes for account "${target.id}": its pending codes are void`, outcome.until, now, 'targetAccount')
  }
  if (outcome.result === 'too-many') {
    throw tooManyRequests(`${MAX_PENDING} verification codes for account "${target.id}" are still valid`, outcome.retryAt, now, 'targetAccount')
  }
  sidecar.log.info({ sourceAccountId: source.id, targetAccountId: target.id, codeId: code.id, expiresAt: code.expiresAt }, 'verification code issued')
  if (target.webhook !== undefined) deliverCode(target.webhook, { code, source, target }, sidecar.log)
  return code
}
