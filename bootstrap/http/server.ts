// The sidecar's HTTP listeners: the request handler (app.ts: the bootstrap fast path, then the Koa
// app) on a plain Node server (and, with bootstrap.httpsPort, the same handler on an HTTPS server,
// so both answer with the same bytes), with JSON answers even
// for requests Node's parser refuses before Koa sees them. Node's Host header check is off: host.ts
// refuses a request without one in JSON, as every other refusal is. Connections kept open between
// requests are bounded (keep-alive.ts).
import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import { ConfigError } from '../../shared/config.js'
import { listen } from '../../shared/listen.js'
import { loadTls, type TlsFiles } from '../../shared/tls.js'
import { createHandler } from '../app.js'
import type { Sidecar } from '../context.js'
import { wireBody } from '../devices/wire.js'
import { boundConnections, boundRequests } from './keep-alive.js'

export interface SidecarServer {
  /** The bound port (useful with port 0). */
  port: number
  server: http.Server
  /** The bound HTTPS port, when bootstrap.httpsPort (or the option) asks for one. */
  httpsPort: number | null
  httpsServer: https.Server | null
  /** Stops accepting, lets requests in flight finish (at most a few seconds), then resolves. */
  close: () => Promise<void>
}

export interface ListenOptions {
  /** Default: config `bootstrap.host`. */
  host?: string
  /** Default: config `bootstrap.port`; 0 picks a free port. */
  port?: number
  /** Default: config `bootstrap.httpsPort` (none when absent); 0 picks a free port. */
  httpsPort?: number
  /** Default: the files of the config's `tls` block. */
  tls?: TlsFiles
  /** Default: ACCEPT_BACKLOG. */
  backlog?: number
}

/**
 * The accept queue's length. When a job re-homes thousands of online devices, each bootstraps at
 * once on a new connection; a queue that overflows drops their SYNs, and a device whose SYN is
 * dropped retries it only after 1, 3, 7 s, then gives up its 10 s bootstrap timeout and starts
 * over. Linux caps this at net.core.somaxconn (4096 by default since 5.4), so that sysctl is the
 * knob (docs/operations.md, "Sizing").
 */
export const ACCEPT_BACKLOG = 65_535

const CLOSE_GRACE_MS = 5000

export async function startSidecar (sidecar: Sidecar, opts: ListenOptions = {}): Promise<SidecarServer> {
  const httpsPort = opts.httpsPort ?? sidecar.config.bootstrap.httpsPort
  const tls = httpsPort === undefined ? null : opts.tls ?? loadTls(sidecar.config)
  if (httpsPort !== undefined && tls === null) throw new ConfigError('bootstrap.httpsPort: needs the top-level "tls" block')

  const callback = boundRequests(createHandler(sidecar), sidecar.config.bootstrap.keepAlive, sidecar.metrics)
  const host = opts.host ?? sidecar.config.bootstrap.host
  const backlog = opts.backlog ?? ACCEPT_BACKLOG
  const server = await serve(http.createServer({ requireHostHeader: false }, callback), sidecar, host, opts.port ?? sidecar.config.bootstrap.port, 'bootstrap.port', backlog)
  let httpsServer: https.Server | null = null
  if (httpsPort !== undefined && tls !== null) {
    try {
      httpsServer = await serve(https.createServer({ ...tls, requireHostHeader: false }, callback), sidecar, host, httpsPort, 'bootstrap.httpsPort', backlog)
    } catch (err) {
      await stop(server)
      throw err
    }
  }

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= Promise.all([stop(server), httpsServer === null ? undefined : stop(httpsServer)]).then(() => {})
    return closing
  }
  return { port: portOf(server), server, httpsPort: httpsServer === null ? null : portOf(httpsServer), httpsServer, close }
}

async function serve<S extends http.Server> (server: S, sidecar: Sidecar, host: string, port: number, key: string, backlog: number): Promise<S> {
  // A slow client cannot hold a socket for long (Node's defaults are minutes).
  server.headersTimeout = 20_000
  server.requestTimeout = 30_000
  boundConnections(server, sidecar.config.bootstrap.keepAlive, sidecar.metrics)
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerUnparsable(err, socket))
  await listen(server, host, port, key, backlog)
  return server
}

function portOf (server: http.Server): number {
  const address = server.address()
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** Stops accepting, lets requests in flight finish (at most CLOSE_GRACE_MS), then resolves. */
function stop (server: http.Server): Promise<void> {
  return new Promise<void>(resolve => {
    if (!server.listening) return resolve()
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS)
    force.unref()
    server.close(() => {
      clearTimeout(force)
      resolve()
    })
    server.closeIdleConnections()
  })
}

/**
 * Node answers a request its parser refuses with a bare `400 Bad Request`; we answer in the
 * docs/protocol.md, "Bootstrap" form, which also reads as JSON to an API client, and close the connection.
 */
function answerUnparsable (err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const message = status === 431 ? 'request header too large' : status === 408 ? 'request timeout' : 'malformed HTTP request'
  const body = wireBody({ code: status, message })
  const reason = http.STATUS_CODES[status] ?? 'Bad Request'
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString('utf8')}`)
}
