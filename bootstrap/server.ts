// The sidecar's HTTP listener: the Koa app on a plain Node server, with JSON answers even for
// requests Node's parser refuses before Koa sees them.
import http from 'node:http'
import type { Duplex } from 'node:stream'
import { createApp } from './app.js'
import type { Sidecar } from './context.js'
import { wireBody } from './wire.js'

export interface SidecarServer {
  /** The bound port (useful with port 0). */
  port: number
  server: http.Server
  /** Stops accepting, lets requests in flight finish (at most a few seconds), then resolves. */
  close: () => Promise<void>
}

export interface ListenOptions {
  /** Default: config `bootstrap.host`. */
  host?: string
  /** Default: config `bootstrap.port`; 0 picks a free port. */
  port?: number
}

const CLOSE_GRACE_MS = 5000

export async function startSidecar (sidecar: Sidecar, opts: ListenOptions = {}): Promise<SidecarServer> {
  const server = http.createServer(createApp(sidecar).callback())
  // A slow client cannot hold a socket for long (Node's defaults are minutes).
  server.headersTimeout = 20_000
  server.requestTimeout = 30_000
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerUnparsable(err, socket))

  const host = opts.host ?? sidecar.config.bootstrap.host
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? sidecar.config.bootstrap.port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0

  let closing: Promise<void> | null = null
  const close = (): Promise<void> => {
    closing ??= new Promise<void>(resolve => {
      const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS)
      force.unref()
      server.close(() => {
        clearTimeout(force)
        resolve()
      })
      server.closeIdleConnections()
    })
    return closing
  }
  return { port, server, close }
}

/**
 * Node answers a request its parser refuses with a bare `400 Bad Request`; we answer in the
 * PROTOCOL 1 form, which also reads as JSON to an API client, and close the connection.
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
