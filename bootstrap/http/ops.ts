// The ops face: GET /healthz, /readyz, /metrics and the operator console (/console) on the sidecar's own port (shared/probes.ts), outside
// the management API's bearer token (load balancers and Prometheus call them), answered in JSON like
// the API. bootstrap/app.ts hands it every path no other face owns, so an unknown path is its 404.
import Router from '@koa/router'
import Koa from 'koa'
import { PROBE_PATHS, probe } from '../../shared/probes.js'
import type { Sidecar } from '../context.js'
import { serveConsole } from './console.js'
import { errors, writeJsonError } from './errors.js'
import { requireHost } from './host.js'
import { requestId, type RequestState } from './request-id.js'

export function opsFace (sidecar: Sidecar): Koa<RequestState> {
  const app = new Koa<RequestState>()
  app.use(errors(sidecar.log, writeJsonError))
  app.use(requestId({ echo: true }))
  app.use(requireHost())
  app.use(opsRoutes(sidecar).routes())
  // The operator console's static files (console.ts); it calls /api/v1 like any client.
  app.use(serveConsole())
  return app
}

function opsRoutes (sidecar: Sidecar): Router {
  const router = new Router()
  const probes = { store: sidecar.store, metrics: sidecar.metrics }
  router.get([...PROBE_PATHS], async (ctx, next) => {
    const answer = await probe(ctx.path, probes)
    if (answer === null) return next()
    ctx.status = answer.status
    ctx.type = answer.contentType
    ctx.body = answer.body
  })
  return router
}
