// GET /healthz, /readyz, /metrics on the sidecar's own port (shared/probes.ts), outside the
// management API's bearer token: load balancers and Prometheus call them.
import Router from '@koa/router'
import { PROBE_PATHS, probe } from '../../shared/probes.js'
import type { Sidecar } from '../context.js'

export function opsRoutes (sidecar: Sidecar): Router {
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
