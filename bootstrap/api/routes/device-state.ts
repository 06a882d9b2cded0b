// Disable and enable a device (Alibaba's DisableThing / EnableThing), by the account owning the
// instance the device lives at: for a distributed device, the destination's owner. A disabled
// device is disconnected at once, its CONNECTs get 5 and its bootstrap 403; enabling lets it back.
// Both are idempotent; the state travels with the device when it is distributed.
import Router from '@koa/router'
import { z } from 'zod'
import { ownDevice, owns } from '../access.js'
import { nowOf } from '../../clock.js'
import type { ApiState, Sidecar } from '../../context.js'
import { deviceView } from '../device-view.js'
import { disconnectDevice } from '../disconnect.js'
import { notFound } from '../../http/http-error.js'
import { parseQuery } from '../../http/validate.js'
import { appendEvents } from '../../../shared/timeline.js'

const atInstance = z.object({ instanceId: z.string().min(1).optional() })

export function deviceStateRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>()
  for (const action of ['disable', 'enable'] as const) {
    router.post(`/products/:pk/devices/:dn/${action}`, async ctx => {
      const { instanceId } = parseQuery(ctx, atInstance)
      const account = ctx.state.account
      const own = await ownDevice(sidecar, account, ctx.params.pk as string, ctx.params.dn as string, instanceId)
      const { productKey, deviceName } = own.device
      const outcome = action === 'disable'
        ? await sidecar.store.disableDevice(productKey, deviceName, own.instanceId)
        : await sidecar.store.enableDevice(productKey, deviceName, own.instanceId)
      // Deleted or distributed away since it was read: as for any device the caller cannot see.
      if (outcome.result === 'not-found' || outcome.result === 'not-here') throw notFound(`device "${productKey}/${deviceName}"`)
      // On every disable, changed or not: repeating it takes a connection that outlived the first one offline.
      if (action === 'disable') await disconnectDevice(sidecar.store, outcome.device, 'disabled', nowOf(sidecar))
      const changed = outcome.result === 'changed'
      if (changed) sidecar.metrics?.deviceStateChanges.inc({ action })
      if (changed) await appendEvents(sidecar.store, [{ productKey, deviceName, event: { kind: `${action}d`, at: nowOf(sidecar), instanceId: own.instanceId } }], sidecar.log)
      sidecar.log.info({ account: account.id, productKey, deviceName, instanceId: own.instanceId, changed }, action === 'disable' ? 'device disabled' : 'device enabled')
      ctx.body = deviceView(outcome.device, id => owns(sidecar, account, id))
    })
  }
  return router
}

export { atInstance as deviceStateQuery }
