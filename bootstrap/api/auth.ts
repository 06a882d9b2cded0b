// Bearer token -> account, for every request of the management API face, which takes every spelling
// of its paths (api-path.ts; docs/architecture.md). Runs before the face's router, so no handler is
// reached without an account; failed attempts count per client address (http/failure-limit.ts) and
// go over the limit as 429.
import type { Middleware } from 'koa'
import { clientAddress } from '../../shared/client-address.js'
import { safeEqual } from '../../shared/sign.js'
import type { Account } from '../../shared/types.js'
import type { ApiState, Sidecar } from '../context.js'
import type { FailureLimit } from '../http/failure-limit.js'
import { unauthorized } from '../http/http-error.js'

const BEARER = /^Bearer +(\S+) *$/i

export function authenticate (sidecar: Sidecar, limit: FailureLimit): Middleware<Partial<ApiState>> {
  return async (ctx, next) => {
    const address = clientAddress(ctx.req.socket.remoteAddress, ctx.req.headers['x-forwarded-for'], sidecar.config.bootstrap.trustProxy) ?? 'unknown'
    await limit.check(address)
    const match = BEARER.exec(ctx.get('Authorization'))
    const account = match === null ? null : accountOf(sidecar.config.accounts, match[1] as string)
    if (account === null) {
      await limit.failed(address)
      throw unauthorized(match === null ? 'missing bearer token: send "Authorization: Bearer <account token>"' : 'invalid token')
    }
    ctx.state.account = account
    await next()
  }
}

/** Compares with every account's token, in constant time, without stopping at a match. */
function accountOf (accounts: readonly Account[], token: string): Account | null {
  let found: Account | null = null
  for (const account of accounts) {
    if (safeEqual(account.token, token) && found === null) found = account
  }
  return found
}
