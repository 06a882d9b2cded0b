// GET /instances: the caller's instances, their regions and device counts (README.md, "Management API").
// GET /instances/:id/connections: one instance's connections over time, summed over its broker nodes
// (docs/operations.md, "Connections over time").
import Router from '@koa/router'
import { z } from 'zod'
import { nowOf } from '../../clock.js'
import type { ApiState, Sidecar } from '../../context.js'
import { parseQuery } from '../../http/validate.js'
import { ownInstance } from '../access.js'
import { connectionSeries, stepFor } from '../connection-series.js'
import { instanceDeviceCounts } from '../device-counts.js'

const connectionsQuery = z.object({
  /** How far back, in minutes (at most a day). */
  minutes: z.coerce.number().int().min(1).max(1440).default(60)
})

/** A node's latest sample counts this many sample intervals: then it is gone (docs/operations.md). */
const HOLD_INTERVALS = 3

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

  router.get('/instances/:id/connections', async ctx => {
    const instance = ownInstance(sidecar, ctx.state.account, ctx.params.id as string)
    const { minutes } = parseQuery(ctx, connectionsQuery)
    const sampleMs = sidecar.config.broker.connectionSampleMs
    const to = nowOf(sidecar)
    const from = to - minutes * 60_000
    const stepMs = stepFor(to - from, sampleMs)
    const holdMs = HOLD_INTERVALS * sampleMs
    const nodes = await sidecar.store.connectionHistory(instance.id, from - holdMs)
    ctx.body = {
      instanceId: instance.id,
      minutes,
      sampleSeconds: sampleMs / 1000,
      stepSeconds: stepMs / 1000,
      points: connectionSeries(nodes, { from, to, stepMs, holdMs }),
      nodes: nodes.map(n => {
        const last = n.samples.at(-1)
        return { nodeId: n.nodeId, lastSampleAt: last?.at ?? null, connections: last?.connections ?? null, reporting: last !== undefined && to - last.at < holdMs }
      })
    }
  })
  return router
}

export { connectionsQuery }
