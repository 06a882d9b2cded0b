// A short id per request, for matching a client's report with the sidecar's log line.
import { randomBytes } from 'node:crypto'
import type { Middleware } from 'koa'
import { isWirePath } from './wire.js'

export interface RequestState {
  requestId: string
}

export const REQUEST_ID_HEADER = 'X-Request-Id'

/** A random prefix per process and a counter: unique across sidecars, no syscall per request. */
export function requestId (): Middleware<RequestState> {
  const prefix = randomBytes(3).toString('hex')
  let counter = 0
  return async (ctx, next) => {
    counter = (counter + 1) % 0x1000000
    ctx.state.requestId = `${prefix}${counter.toString(16).padStart(6, '0')}`
    // Device answers stay minimal (docs/protocol.md, "Bootstrap"); operators get the id in a header.
    if (!isWirePath(ctx.path)) ctx.set(REQUEST_ID_HEADER, ctx.state.requestId)
    await next()
  }
}
