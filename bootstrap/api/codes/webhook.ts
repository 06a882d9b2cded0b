// Pushing a verification code to the destination account's webhook (README.md, "Management API": "also pushed to
// the account's webhook when one is configured"). A few tries, then give up: the code is listed at
// GET /distribution/verification-codes anyway. Logs name the account, never the code or the URL's
// path and query (which may hold a secret).
import type { Logger } from '../../../shared/log.js'
import type { Account, VerificationCode } from '../../../shared/types.js'

export interface CodeDelivery {
  code: VerificationCode
  source: Account
  target: Account
}

/** The JSON body the webhook receives. */
export interface CodeWebhookBody {
  type: 'distribution.verification_code'
  sourceAccount: { id: string, name: string }
  targetAccount: { id: string, name: string }
  code: string
  createdAt: number
  expiresAt: number
}

export interface WebhookOptions {
  attempts: number
  /** Pause before the second try; doubled for each next one. */
  backoffMs: number
  timeoutMs: number
}

export const WEBHOOK_DEFAULTS: WebhookOptions = { attempts: 3, backoffMs: 500, timeoutMs: 5000 }

export function webhookBody ({ code, source, target }: CodeDelivery): CodeWebhookBody {
  return {
    type: 'distribution.verification_code',
    sourceAccount: { id: source.id, name: source.name },
    targetAccount: { id: target.id, name: target.name },
    code: code.code,
    createdAt: code.createdAt,
    expiresAt: code.expiresAt
  }
}

/** Starts the delivery in the background; the returned promise settles when it is over (tests await it). */
export function deliverCode (url: string, delivery: CodeDelivery, log: Logger, options: WebhookOptions = WEBHOOK_DEFAULTS): Promise<boolean> {
  return send(url, delivery, log, options).catch(err => {
    log.error({ err, targetAccountId: delivery.target.id }, 'verification code webhook: delivery crashed')
    return false
  })
}

async function send (url: string, delivery: CodeDelivery, log: Logger, options: WebhookOptions): Promise<boolean> {
  const body = JSON.stringify(webhookBody(delivery))
  const where = { targetAccountId: delivery.target.id, codeId: delivery.code.id, webhook: new URL(url).origin }
  for (let attempt = 1; attempt <= options.attempts; attempt++) {
    let retry: boolean
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'homing' },
        body,
        // A redirect would carry the code somewhere the operator did not configure.
        redirect: 'error',
        signal: AbortSignal.timeout(options.timeoutMs)
      })
      await res.body?.cancel()
      if (res.ok) {
        log.info({ ...where, attempt }, 'verification code webhook: delivered')
        return true
      }
      retry = res.status >= 500 || res.status === 429
      log.warn({ ...where, attempt, status: res.status }, 'verification code webhook: refused')
    } catch (err) {
      retry = true
      log.warn({ ...where, attempt, reason: reasonOf(err) }, 'verification code webhook: not reached')
    }
    if (!retry) break
    if (attempt < options.attempts) await new Promise(resolve => setTimeout(resolve, options.backoffMs * 2 ** (attempt - 1)).unref())
  }
  log.warn(where, 'verification code webhook: given up; the code is still listed at GET /api/v1/distribution/verification-codes')
  return false
}

/** The error's name and cause code, never its message (which could quote the request). */
function reasonOf (err: unknown): string {
  const e = err as { name?: string, cause?: { code?: string } }
  return [e.name ?? 'Error', e.cause?.code].filter(Boolean).join(': ')
}
