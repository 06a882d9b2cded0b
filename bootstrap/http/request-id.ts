// A short id per request, for matching a client's report with the sidecar's log line.
import { randomBytes } from 'node:crypto'
import type { Middleware } from 'koa'

export interface RequestState {
  requestId: string
}

export const REQUEST_ID_HEADER = 'X-Request-Id'

export interface RequestIdOptions {
  /** Send the id back in X-Request-Id: operators' faces do; device answers stay minimal (docs/protocol.md, "Bootstrap"). */
  echo: boolean
}

/** A random prefix per process and a counter: unique across sidecars, no syscall per request. */
export function requestIds (): () => string {
  const prefix = randomBytes(3).toString('hex')
  let counter = 0
  return () => {
    counter = (counter + 1) % 0x1000000
    return `${prefix}${counter.toString(16).padStart(6, '0')}`
  }
}

export function requestId ({ echo }: RequestIdOptions): Middleware<RequestState> {
  const nextId = requestIds()
  return async (ctx, next) => {
    ctx.state.requestId = nextId()
    if (echo) ctx.set(REQUEST_ID_HEADER, ctx.state.requestId)
    await next()
  }
}
