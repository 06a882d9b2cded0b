// Bearer token -> account, for every /api/v1 route (DESIGN "Management REST API").
import type { Middleware } from 'koa'
import { safeEqual } from '../shared/sign.js'
import type { Account } from '../shared/types.js'
import type { ApiState, Sidecar } from './context.js'
import { unauthorized } from './http-error.js'

const BEARER = /^Bearer +(\S+) *$/i

export function authenticate (sidecar: Sidecar): Middleware<ApiState> {
  return async (ctx, next) => {
    const match = BEARER.exec(ctx.get('Authorization'))
    if (match === null) throw unauthorized('missing bearer token: send "Authorization: Bearer <account token>"')
    const account = accountOf(sidecar.config.accounts, match[1] as string)
    if (account === null) throw unauthorized('invalid token')
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
