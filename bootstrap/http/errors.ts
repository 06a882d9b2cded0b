// How a face of the sidecar turns errors into responses (Koa's ctx.onerror, but JSON). Each face
// has this middleware with its own writer: the management API and the ops paths answer
// `{"error":{"code","message","field"?}}` (writeJsonError; README.md, "Management API"), the device
// face the docs/protocol.md, "Bootstrap" form (devices/wire.ts). Never a stack trace, never an HTML page.
import { STATUS_CODES } from 'node:http'
import type { Context, Middleware } from 'koa'
import type { Logger } from '../../shared/log.js'
import { StoreRefusedError, StoreUnavailableError } from '../../shared/store/store.js'
import { ApiError } from './http-error.js'
import { REQUEST_ID_HEADER, type RequestState } from './request-id.js'

/** Writes the answer for an error, once the headers a handler set are gone. */
export type ErrorWriter = (ctx: Context, error: ApiError) => void

export function errors (log: Logger, write: ErrorWriter): Middleware<RequestState> {
  return async (ctx, next) => {
    try {
      await next()
      // Nothing answered (no route: 404) or the router set 405/501 without a body.
      if (ctx.status >= 400 && ctx.body == null) throw fromStatus(ctx)
    } catch (err) {
      const error = toApiError(err, { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path }, log)
      if (ctx.headerSent || !ctx.writable) return
      respond(ctx, error, write)
    }
  }
}

function fromStatus (ctx: Context): ApiError {
  const status = ctx.status
  if (status === 404) return new ApiError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`)
  const allow = ctx.response.get('Allow')
  const headers: Record<string, string> = allow ? { Allow: allow } : {}
  if (status === 405) return new ApiError(405, 'method_not_allowed', `${ctx.method} is not allowed here${allow ? ` (allowed: ${allow})` : ''}`, undefined, headers)
  return new ApiError(status, codeOf(status), STATUS_CODES[status] ?? 'error', undefined, headers)
}

/** `Method Not Allowed` -> `method_not_allowed`. */
function codeOf (status: number): string {
  return (STATUS_CODES[status] ?? 'error').toLowerCase().replace(/[^a-z0-9]+/g, '_')
}

/** Errors thrown by Koa, the router or Node's parsers that carry their own HTTP meaning (http-errors). */
interface HttpErrorLike {
  status: number
  expose?: boolean
  message: string
  headers?: Record<string, string>
}

function isHttpErrorLike (err: unknown): err is HttpErrorLike {
  if (!(err instanceof Error)) return false
  const { status, expose } = err as Error & Partial<HttpErrorLike>
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true
}

/** What an error's log line names of its request. */
export interface RequestWhere {
  requestId: string
  method: string
  path: string
}

/** The answer an error gets; errors without an HTTP meaning of their own are logged here. */
export function toApiError (err: unknown, where: RequestWhere, log: Logger): ApiError {
  if (err instanceof ApiError) return err
  const { requestId, method, path } = where
  if (err instanceof StoreRefusedError) {
    // The registry is up but will not write (out of memory, say): the store took back what it wrote.
    log.warn({ requestId, method, path, reason: err.message }, 'registry refuses writes')
    return new ApiError(503, 'unavailable', 'registry refuses writes (out of memory or read-only): nothing was changed, retry later', undefined, { 'Retry-After': '5' })
  }
  if (err instanceof StoreUnavailableError) {
    // docs/operations.md, "Redis outage": registry down -> 503, and recover without a restart.
    log.warn({ requestId, method, path, reason: err.message }, 'registry unavailable')
    return new ApiError(503, 'unavailable', 'registry unavailable, retry later', undefined, { 'Retry-After': '1' })
  }
  if (isHttpErrorLike(err)) return new ApiError(err.status, codeOf(err.status), err.message, undefined, err.headers ?? {})
  log.error({ requestId, method, path, err }, 'request failed')
  return new ApiError(500, 'internal', `internal error (request ${requestId})`)
}

function respond (ctx: Context, error: ApiError, write: ErrorWriter): void {
  // Headers a handler set before failing (a download's Content-Disposition, say) must not survive.
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name)
  ctx.set(error.headers)
  // A body we did not read stays in the socket: close the connection rather than parse it as a request.
  if (!ctx.req.complete) ctx.set('Connection', 'close')
  write(ctx, error)
}

/** README.md, "Management API": `{"error":{...}}`, with the request id the log line carries. */
export const writeJsonError: ErrorWriter = (ctx, error) => {
  ctx.set(REQUEST_ID_HEADER, (ctx.state as RequestState).requestId)
  ctx.status = error.status
  ctx.body = error.body()
}
