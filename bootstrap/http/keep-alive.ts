// Which sidecar connections stay open after an answer, and the bounds on those that do
// (docs/operations.md, "Behind a load balancer"). The device face closes after every answer unless
// the peer is a listed proxy or the request asks in words (devices/connection.ts); the bounds here
// hold for every connection of the server, whichever face answered it.
import { BlockList, isIP } from 'node:net'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Config } from '../../shared/config.js'
import { normalizeAddress } from '../../shared/geo.js'
import type { Metrics } from '../../shared/metrics/metrics.js'

export type KeepAliveConfig = Config['bootstrap']['keepAlive']

/** Whether a socket peer is one of `bootstrap.keepAlive.proxies` (addresses or CIDR blocks). */
export function proxyMatcher (entries: string[]): (peer: string | undefined) => boolean {
  if (entries.length === 0) return () => false
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/')
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return peer => {
    if (peer === undefined) return false
    // An IPv4 peer on a dual-stack listener reads ::ffff:10.0.0.1.
    const address = normalizeAddress(peer)
    const family = isIP(address)
    return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4')
  }
}

/**
 * RFC 9112, section 9.3: a `Connection` header naming `keep-alive`. The Link SDK sends no Connection
 * header at all (docs/protocol.md, "Bootstrap"), so only a client that asks in words is kept open:
 * HTTP/1.1's implicit persistence would change the bytes the SDK reads.
 */
export function asksToKeepOpen (connection: string | undefined): boolean {
  if (connection === undefined) return false
  const tokens = connection.toLowerCase().split(',').map(t => t.trim())
  return tokens.includes('keep-alive') && !tokens.includes('close')
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * At most `maxRequests` requests per connection: the last answer closes it (`Connection: close`),
 * and requests pipelined behind that one are never handed to the application. (Node's own
 * maxRequestsPerSocket answers those with chunked 503s and keeps writing: not the device bytes.)
 */
export function boundRequests (handler: Handler, options: KeepAliveConfig, metrics?: Metrics): Handler {
  const served = new WeakMap<Socket, number>()
  return (req, res) => {
    const count = (served.get(req.socket) ?? 0) + 1
    served.set(req.socket, count)
    if (count > options.maxRequests) {
      metrics?.httpDroppedRequests.inc()
      return
    }
    if (count === options.maxRequests) res.shouldKeepAlive = false
    handler(req, res)
  }
}

/**
 * An idle kept connection is closed after `idleSeconds` (Node waits one second more than it
 * announces in `Keep-Alive: timeout=`). Counted in `metrics` when given: connections kept open now,
 * and those closed for idling.
 */
export function boundConnections (server: Server, options: KeepAliveConfig, metrics?: Metrics): void {
  server.keepAliveTimeout = options.idleSeconds * 1000
  // Node arms a socket timeout only while a kept connection waits for its next request (server.timeout is 0).
  server.on('timeout', (socket: Socket) => {
    metrics?.httpIdleCloses.inc()
    socket.destroy()
  })
  if (metrics === undefined) return
  const kept = new WeakSet<Socket>()
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // After Node's own finish handler: a socket it ends is no longer writable.
    res.once('finish', () => {
      const socket = req.socket
      if (!socket.writable || kept.has(socket)) return
      kept.add(socket)
      metrics.httpKeptConnections.inc()
      socket.once('close', () => metrics.httpKeptConnections.dec())
    })
  })
}
