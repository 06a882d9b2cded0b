// GET /instances: the caller's instances, their regions and device counts (README.md, "Management API").
import Router from '@koa/router'
import type { ApiState, Sidecar } from '../../context.js'
import { instanceDeviceCounts } from '../device-counts.js'

export function instanceRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>()
  router.get('/instances', async ctx => {
    const instances = sidecar.topology.instancesOf(ctx.state.account.id)
    const regionIds = new Set(instances.map(i => i.region))
    const counts = await Promise.all(instances.map(i => instanceDeviceCounts(sidecar.store, i.id)))
    ctx.body = {
      // `devices`: the devices living at the instance, over its products, counted from the registry's indexes.
      instances: instances.map(({ id, region, endpoint }, i) => ({ id, region, endpoint, devices: counts[i] })),
      regions: sidecar.config.regions.filter(r => regionIds.has(r.id))
    }
  })
  return router
}
