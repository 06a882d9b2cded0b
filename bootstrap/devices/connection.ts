// docs/protocol.md, "Bootstrap": a device sends one request per connection and reads one answer, and
// Alibaba's endpoint closes the connection after it, so the device face answers `Connection: close`
// and closes. Two peers keep the connection open instead (docs/operations.md, "Behind a load
// balancer"): a listed HTTP proxy (`bootstrap.keepAlive.proxies`), whose connection carries the
// requests of many devices, and a client that asks with `Connection: keep-alive`, which the Link SDK
// never sends. Node then writes `Connection: keep-alive` and bounds the connection (http/keep-alive.ts).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Middleware } from 'koa'
import { asksToKeepOpen, proxyMatcher } from '../http/keep-alive.js'

/** What the device face's answer writer reads (wire.ts): absent or false, the answer closes. */
export interface ConnectionState {
  keepConnection?: boolean
}

export function keepOrClose (proxies: string[]): Middleware<ConnectionState> {
  const fromProxy = proxyMatcher(proxies)
  return async (ctx, next) => {
    ctx.state.keepConnection = keepsConnection(ctx.req, ctx.res, fromProxy)
    await next()
  }
}

/** The verdict on the bare request (keepOrClose's, and the fast path's: fast-path.ts). */
export function keepsConnection (req: IncomingMessage, res: ServerResponse, fromProxy: (address: string | undefined) => boolean): boolean {
  // Node's own verdict first: the request said close, or it is the connection's last (keep-alive.ts).
  return res.shouldKeepAlive && (fromProxy(req.socket.remoteAddress) || asksToKeepOpen(req.headers.connection))
}
