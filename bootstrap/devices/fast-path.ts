// POST /auth/bootstrap answered on the bare node:http request, before Koa sees it: a re-homed fleet
// bootstraps all at once over a new connection each, and Koa's context, middleware compose,
// mounts and router cost CPU per request that the sidecar then lacks to accept (BENCHMARKS.md,
// "Bootstrap fast path and accept queue"). The steps are the Koa route's own (bootstrap-route.ts: parse -> find device ->
// place -> answer), and so is everything around them: the connection verdict (connection.ts), the
// Host check (http/host.ts), a request id, the error answers (http/errors.ts), metrics and the log
// line (face.ts). The bytes are the Koa path's, header order included; a test holds both paths to it.
// Only the exact spelling devices send is taken here; any other (a query string, a trailing slash,
// another method) goes on to Koa's device face, which answers it as before.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Sidecar } from '../context.js'
import { toApiError } from '../http/errors.js'
import { badRequest, type ApiError } from '../http/http-error.js'
import { lacksHost } from '../http/host.js'
import { proxyMatcher } from '../http/keep-alive.js'
import { requestIds } from '../http/request-id.js'
import { successBody, type BootstrapSteps } from './bootstrap-route.js'
import { keepsConnection } from './connection.js'
import { reportBootstrap } from './face.js'
import { wireBody, writeWireBody } from './wire.js'

export const BOOTSTRAP_PATH = '/auth/bootstrap'

/** Takes `POST /auth/bootstrap` and returns true, or returns false and leaves the request alone. */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean

/** `steps`: the device face's own (bootstrap-route.ts), so one look-up limit counts both paths. */
export function fastBootstrap (sidecar: Sidecar, steps: BootstrapSteps): FastPath {
  const fromProxy = proxyMatcher(sidecar.config.bootstrap.keepAlive.proxies)
  const report = reportBootstrap(sidecar.log, sidecar.metrics)
  const nextId = requestIds()

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const start = process.hrtime.bigint()
    // As Koa starts every response (its status until something answers: a client gone before the
    // answer is counted as Koa counts it).
    res.statusCode = 404
    const keep = keepsConnection(req, res, fromProxy)
    const requestId = nextId()
    try {
      if (lacksHost(req)) throw badRequest('Host header is required')
      const placed = await steps.place(req)
      writeWireBody(res, 200, successBody(placed.instance), keep)
      steps.note(placed)
    } catch (err) {
      const error = toApiError(err, { requestId, method: 'POST', path: BOOTSTRAP_PATH }, sidecar.log)
      if (!res.headersSent && writable(res)) writeError(req, res, error, keep)
    } finally {
      report(requestId, 'POST', BOOTSTRAP_PATH, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9)
    }
  }

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== BOOTSTRAP_PATH) return false
    // As Koa's app 'error' (app.ts): only a failure after the answer started gets here.
    handle(req, res).catch((err: unknown) => sidecar.log.error({ err }, 'response failed'))
    return true
  }
}

/** Koa's `ctx.writable`. */
function writable (res: ServerResponse): boolean {
  if (res.writableEnded) return false
  return res.socket === null || res.socket.writable
}

/** http/errors.ts respond() with the device face's writer (wire.ts writeWireError), header for header. */
function writeError (req: IncomingMessage, res: ServerResponse, error: ApiError, keep: boolean): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value)
  // A body we did not read stays in the socket: close the connection rather than parse it as a request.
  if (!req.complete) res.setHeader('Connection', 'close')
  writeWireBody(res, error.status, wireBody({ code: error.status, message: error.message }), keep)
}
