// HTTP/1.1 requires a Host header. Node's own check answers a bare 400 without a body, so the servers
// turn it off (server.ts) and this middleware refuses in our JSON forms instead.
import type { IncomingMessage } from 'node:http'
import type { Middleware } from 'koa'
import { badRequest } from './http-error.js'

export function requireHost (): Middleware {
  return async (ctx, next) => {
    if (lacksHost(ctx.req)) throw badRequest('Host header is required')
    await next()
  }
}

/** An HTTP/1.1 request without a Host header (also checked on the bootstrap's fast path, devices/fast-path.ts). */
export function lacksHost (req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && req.headers.host === undefined
}
