// A cross-account job carries the destination owner's code; it is used up when the job is accepted
// (docs/distribution.md, "Rule 10"). Wrong, expired and used codes get one answer, so that no reply tells them apart.
import type { Store } from '../../../shared/store/store.js'
import { ApiError } from '../../http/http-error.js'
import { codeCheck, MAX_FAILURES } from './policy.js'
import { tooManyRequests } from './too-many.js'

export async function consumeCode (store: Store, pair: { sourceAccountId: string, targetAccountId: string }, presented: string, now: number): Promise<void> {
  const outcome = await store.checkCode(pair, presented, codeCheck(now))
  switch (outcome.result) {
    case 'accepted':
      return
    case 'locked':
      throw tooManyRequests(`too many wrong verification codes for account "${pair.targetAccountId}": request a new code later`, outcome.until, now, 'verificationCode')
    case 'refused':
      if (outcome.voided) {
        throw tooManyRequests(`${MAX_FAILURES} wrong verification codes for account "${pair.targetAccountId}": its pending codes are void`, outcome.until, now, 'verificationCode')
      }
      throw new ApiError(403, 'verification_failed', `verificationCode is wrong, expired or already used (${MAX_FAILURES - outcome.failures} tries left)`, 'verificationCode')
  }
}
