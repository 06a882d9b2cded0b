// The sidecar's HTTP application: the device-facing bootstrap and the management API, as Koa
// middleware and routers composed in one place.
import Router from '@koa/router'
import Koa from 'koa'
import { authenticate } from './auth.js'
import type { ApiState, Sidecar } from './context.js'
import { errors } from './errors.js'
import { observe } from './observe.js'
import { requestId } from './request-id.js'
import { bootstrapRoutes } from './routes/bootstrap.js'
import { deviceRoutes } from './routes/devices.js'
import { deviceStateRoutes } from './routes/device-state.js'
import { distributionRoutes } from './routes/distribution.js'
import { instanceRoutes } from './routes/instances.js'
import { opsRoutes } from './routes/ops.js'
import { productRoutes } from './routes/products.js'
import { verificationCodeRoutes } from './routes/verification-codes.js'

export const API_PREFIX = '/api/v1'

/**
 * Routers of the management API: each is `(sidecar) => Router<ApiState>` with paths relative to
 * /api/v1, mounted behind the bearer token (ctx.state.account is the caller).
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
  app.use(observe(sidecar.log, sidecar.metrics, API_PREFIX))
  app.use(errors(sidecar.log))
  app.use(requestId())

  // PROTOCOL 1: devices. First, as the hot path: a bootstrap runs no other router's matcher.
  const devices = bootstrapRoutes(sidecar)
  app.use(devices.routes())
  app.use(devices.allowedMethods())

  // Health, readiness and metrics for load balancers and Prometheus.
  app.use(opsRoutes(sidecar).routes())

  // DESIGN "Management REST API": operators.
  const api = new Router<ApiState>({ prefix: API_PREFIX })
  api.use(authenticate(sidecar))
  for (const routes of apiRoutes) api.use(routes(sidecar).routes())
  app.use(api.routes())
  app.use(api.allowedMethods())

  return app
}
