// A device's timeline (docs/operations.md, "Device timeline"): GET /products/:pk/devices/:dn/events,
// newest first, for whoever may see the device (access.ts), as device-events-view.ts lets them see it.
import Router from '@koa/router'
import { z } from 'zod'
import { ownDevice, owns } from '../access.js'
import type { ApiState, Sidecar } from '../../context.js'
import { deviceEventsView } from '../device-events-view.js'
import { parseQuery } from '../../http/validate.js'

/** The most a registry keeps per device (config `limits.deviceEvents` is at most this). */
const MAX_EVENTS = 5000
/** Events answered when the query names no limit. */
const DEFAULT_LIMIT = 100

const eventsQuery = z.object({
  instanceId: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_EVENTS).optional()
})

export function deviceEventRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>()
  router.get('/products/:pk/devices/:dn/events', async ctx => {
    const { instanceId, limit = DEFAULT_LIMIT } = parseQuery(ctx, eventsQuery)
    const account = ctx.state.account
    const { device } = await ownDevice(sidecar, account, ctx.params.pk as string, ctx.params.dn as string, instanceId)
    const events = await sidecar.store.deviceEvents(device.productKey, device.deviceName, limit)
    ctx.body = {
      productKey: device.productKey,
      deviceName: device.deviceName,
      limit,
      events: deviceEventsView(events, id => owns(sidecar, account, id))
    }
  })
  return router
}

export { eventsQuery as deviceEventsQuery }
