// docs/devices.md, "Replies": a device posting properties, events or device tags gets the `_reply`
// the platform sends, so the SDK's callbacks fire. Pushed straight down the poster's socket, as the
// notify is (the SDKs do not always subscribe), and only to the poster. Only packets that passed the
// fences and the publish limits reach Aedes' 'publish' event, so a refused post is never answered.
import type { AedesPublishPacket, Client } from 'aedes'
import { readRequest, replyPayload } from '../shared/alink.js'
import type { HomingContext } from './context.js'

/** The posts answered, below `/sys/<pk>/<dn>/thing/`, with the method each stands for. */
export function postMethod (rest: string): string | null {
  switch (rest) {
    case 'event/property/post': return 'thing.event.property.post'
    case 'deviceinfo/update': return 'thing.deviceinfo.update'
    case 'deviceinfo/delete': return 'thing.deviceinfo.delete'
  }
  const event = /^event\/([^/]+)\/post$/.exec(rest)
  return event === null ? null : `thing.event.${event[1] as string}.post`
}

export function answerPosts (ctx: HomingContext): () => void {
  const onPublish = (packet: AedesPublishPacket, client: Client | null): void => {
    if (client === null) return
    const s = ctx.connections.get(client)
    if (s === undefined || s.closed) return
    const prefix = `/sys/${s.productKey}/${s.deviceName}/thing/`
    if (!packet.topic.startsWith(prefix)) return
    const method = postMethod(packet.topic.slice(prefix.length))
    if (method === null) return
    const request = readRequest(packet.payload, method)
    ctx.onThingReply?.(request.code)
    s.client.publish({
      cmd: 'publish',
      topic: `${packet.topic}_reply`,
      payload: Buffer.from(replyPayload(request)),
      qos: 0,
      retain: false,
      dup: false
    }, () => {})
  }
  ctx.aedes.on('publish', onPublish)
  return () => { ctx.aedes.off('publish', onPublish) }
}
