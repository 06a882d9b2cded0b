// HTTP/1.1 requires a Host header. Node's own check answers a bare 400 without a body, so the servers
// turn it off (server.ts) and this middleware refuses in our JSON forms instead.
import type { Middleware } from 'koa'
import { badRequest } from './http-error.js'

export function requireHost (): Middleware {
  return async (ctx, next) => {
    if (ctx.req.httpVersionMajor === 1 && ctx.req.httpVersionMinor >= 1 && ctx.req.headers.host === undefined) {
      throw badRequest('Host header is required')
    }
    await next()
  }
}
