// docs/distribution.md, "Rule 4": runtime data stays at the source instance. The last property post of a device is
// kept with this instance's runtime, so it is there again if the device comes back.
import type { AedesPublishPacket, Client } from 'aedes'
import { propertyPostTopic } from '../shared/topics.js'
import type { HomingContext } from './context.js'

export function keepProperties (ctx: HomingContext): () => void {
  const onPublish = (packet: AedesPublishPacket, client: Client | null): void => {
    if (client === null) return
    const s = ctx.connections.get(client)
    if (s === undefined || packet.topic !== propertyPostTopic(s.productKey, s.deviceName)) return
    ctx.background(ctx.store.setProperties(s.productKey, s.deviceName, ctx.instanceId, packet.payload.toString()).catch(err => {
      ctx.log.warn({ productKey: s.productKey, deviceName: s.deviceName, err: (err as Error).message }, 'could not keep the property post')
    }))
  }
  ctx.aedes.on('publish', onPublish)
  return () => { ctx.aedes.off('publish', onPublish) }
}
