// The sidecar's HTTP application: the device-facing bootstrap and the management API, as Koa
// middleware and routers composed in one place.
import Router from '@koa/router'
import Koa from 'koa'
import { API_PREFIX, isApiPath } from './api-path.js'
import { authenticate } from './auth.js'
import { serveConsole } from './console.js'
import type { ApiState, Sidecar } from './context.js'
import { errors } from './errors.js'
import { createLimits } from './failure-limit.js'
import { requireHost } from './host.js'
import { observe } from './observe.js'
import { liveRoutes, openApiDocument } from './openapi.js'
import { requestId } from './request-id.js'
import { bootstrapRoutes } from './routes/bootstrap.js'
import { deviceRoutes } from './routes/devices.js'
import { deviceStateRoutes } from './routes/device-state.js'
import { distributionRoutes } from './routes/distribution.js'
import { instanceRoutes } from './routes/instances.js'
import { opsRoutes } from './routes/ops.js'
import { productRoutes } from './routes/products.js'
import { verificationCodeRoutes } from './routes/verification-codes.js'


/**
 * Routers of the management API: each is `(sidecar) => Router<ApiState>` with paths relative to
 * /api/v1, mounted behind the bearer token (auth.ts; ctx.state.account is the caller).
 */
const apiRoutes: ((sidecar: Sidecar) => Router<ApiState>)[] = [
  instanceRoutes,
  productRoutes,
  deviceRoutes,
  deviceStateRoutes,
  distributionRoutes,
  verificationCodeRoutes
]

export function createApp (sidecar: Sidecar): Koa {
  const app = new Koa()
  // Only reached by failures after the answer started (a streamed download); errors.ts answers the rest.
  app.on('error', (err: Error) => sidecar.log.error({ err }, 'response failed'))

  // Outside errors(): it sees the status that was finally answered.
  app.use(observe(sidecar.log, sidecar.metrics, isApiPath))
  app.use(errors(sidecar.log))
  app.use(requestId())
  app.use(requireHost())

  // Per client address, in this process's memory: failed authentications, unknown-device look-ups.
  const limits = createLimits(sidecar.config, sidecar.log, sidecar.metrics)
  // Every spelling of a management path needs the token, before any router sees it (api-path.ts).
  app.use(authenticate(sidecar, limits.apiAuth))

  // docs/protocol.md, "Bootstrap": devices. First, as the hot path: a bootstrap runs no other router's matcher.
  const devices = bootstrapRoutes(sidecar, limits.bootstrap)
  app.use(devices.routes())
  app.use(devices.allowedMethods())

  // Health, readiness and metrics for load balancers and Prometheus.
  app.use(opsRoutes(sidecar).routes())
  // The operator console's static files (console.ts); it calls /api/v1 like any client.
  app.use(serveConsole())

  // The management API (docs/architecture.md): operators, authenticated above for every spelling the router takes.
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
