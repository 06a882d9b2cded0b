// GET /instances: the caller's instances and their regions (README.md, "Management API").
import Router from '@koa/router'
import type { ApiState, Sidecar } from '../../context.js'

export function instanceRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>()
  router.get('/instances', ctx => {
    const instances = sidecar.topology.instancesOf(ctx.state.account.id)
    const regionIds = new Set(instances.map(i => i.region))
    ctx.body = {
      instances: instances.map(({ id, region, endpoint }) => ({ id, region, endpoint })),
      regions: sidecar.config.regions.filter(r => regionIds.has(r.id))
    }
  })
  return router
}
