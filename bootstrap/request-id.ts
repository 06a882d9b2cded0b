// A short id per request, for matching a client's report with the sidecar's log line.
import { randomBytes } from 'node:crypto'
import type { Middleware } from 'koa'
import { isWirePath } from './wire.js'

export interface RequestState {
  requestId: string
}

export const REQUEST_ID_HEADER = 'X-Request-Id'

export function requestId (): Middleware<RequestState> {
  return async (ctx, next) => {
    ctx.state.requestId = randomBytes(6).toString('hex')
    // Device answers stay minimal (PROTOCOL 1); operators get the id in a header.
    if (!isWirePath(ctx.path)) ctx.set(REQUEST_ID_HEADER, ctx.state.requestId)
    await next()
  }
}
