// The management API face (README.md, "Management API"): operators, behind a bearer token, answered
// in JSON with an X-Request-Id. bootstrap/app.ts hands it every spelling of an /api path (api-path.ts).
import Router from '@koa/router'
import Koa from 'koa'
import type { Logger } from '../../shared/log.js'
import type { Metrics } from '../../shared/metrics/metrics.js'
import type { ApiState, Sidecar } from '../context.js'
import { errors, writeJsonError } from '../http/errors.js'
import type { FailureLimit } from '../http/failure-limit.js'
import { requireHost } from '../http/host.js'
import { observe, requestFields, statusCounter, type Report } from '../http/observe.js'
import { requestId, type RequestState } from '../http/request-id.js'
import { API_PREFIX } from './api-path.js'
import { authenticate } from './auth.js'
import { liveRoutes, openApiDocument } from './openapi.js'
import { deviceEventRoutes } from './routes/device-events.js'
import { deviceStateRoutes } from './routes/device-state.js'
import { deviceRoutes } from './routes/devices.js'
import { distributionRoutes } from './routes/distribution.js'
import { instanceRoutes } from './routes/instances.js'
import { productRoutes } from './routes/products.js'
import { verificationCodeRoutes } from './routes/verification-codes.js'

type ApiFaceState = RequestState & Partial<ApiState>

/**
 * Routers of the management API: each is `(sidecar) => Router<ApiState>` with paths relative to
 * /api/v1, mounted behind the bearer token (auth.ts; ctx.state.account is the caller).
 */
const apiRoutes: ((sidecar: Sidecar) => Router<ApiState>)[] = [
  instanceRoutes,
  productRoutes,
  deviceRoutes,
  deviceStateRoutes,
  deviceEventRoutes,
  distributionRoutes,
  verificationCodeRoutes
]

/** `authFailures`: failed authentications per client address; over the limit, 429 with Retry-After. */
export function apiFace (sidecar: Sidecar, authFailures: FailureLimit): Koa<ApiFaceState> {
  const app = new Koa<ApiFaceState>()
  app.use(observe(reportApi(sidecar.log, sidecar.metrics)))
  app.use(errors(sidecar.log, writeJsonError))
  app.use(requestId({ echo: true }))
  app.use(requireHost())
  app.use(authenticate(sidecar, authFailures))
  const api = new Router<ApiState>({ prefix: API_PREFIX })
  for (const routes of apiRoutes) api.use(routes(sidecar).routes())
  // The document describes the routes of this very router (openapi.ts), itself included.
  let document: unknown = null
  api.get('/openapi.json', ctx => {
    document ??= openApiDocument(liveRoutes(api), '1')
    ctx.body = document
  })
  app.use(api.routes())
  app.use(api.allowedMethods())
  return app
}

/** Operators' calls are logged at info (who changed what: the account id, never its token). */
function reportApi (log: Logger, metrics: Metrics | undefined): Report<ApiFaceState> {
  const count = metrics === undefined ? undefined : statusCounter(metrics.apiRequests)
  return (ctx, seconds) => {
    count?.(ctx.status)
    // Refusals by a rate limit are summarised per address (http/failure-limit.ts), not a line each.
    if (ctx.status === 429) log.debug(requestFields(ctx, seconds), 'api request')
    else log.info({ ...requestFields(ctx, seconds), account: ctx.state.account?.id }, 'api request')
  }
}
