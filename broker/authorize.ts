// docs/protocol.md, "Topics": the topic fences. A device publishes and subscribes only inside its own subtrees.
import type { Client, PublishPacket, Subscription } from 'aedes'
import { allowed } from '../shared/topics.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'

export type AuthorizePublish = (client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void) => void
export type AuthorizeSubscribe = (client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void) => void

/**
 * docs/protocol.md, "Topics": a PUBLISH outside the fences is dropped and still acknowledged under
 * broker.deniedPublish `ignore` (the default, as Mosquitto; a client that resends an in-flight QoS 1
 * PUBLISH after a reconnect is not kicked forever), or closes the connection under `disconnect`
 * (MQTT 3.1.1 has no negative PUBACK). A dropped packet is put in `ctx.dropped`: Aedes acknowledges
 * it and the plugin's publish wrapper forwards it to no one. `observe` sees each allowed one as it
 * arrives, in the device's packet order, and drops it too when it answers a notify (broker/kick.ts).
 */
export function createAuthorizePublish (ctx: HomingContext, observe: (s: DeviceSession, packet: PublishPacket) => boolean): AuthorizePublish {
  return (client, packet, done) => {
    // Publishes of the broker itself (client null) are not a device's.
    if (client === null) return done(null)
    // docs/protocol.md, "Moved devices": a redirected device may send the notify reply and nothing else; neither goes anywhere.
    if (ctx.redirects.has(client)) {
      if (!ctx.redirects.publish(client, packet)) ctx.onDeniedPublish?.('ignored')
      ctx.dropped.add(packet)
      return done(null)
    }
    const s = ctx.connections.get(client)
    if (s !== undefined && allowed(packet.topic, s.productKey, s.deviceName, 'publish')) {
      // docs/operations.md, "Hardening": over the payload size or the rate, the connection is closed.
      ctx.publishLimits.check(s, packet).then(over => {
        if (over === null) {
          // A notify reply the node was waiting for is its own: acknowledged, forwarded to no one.
          if (observe(s, packet)) ctx.dropped.add(packet)
          return done(null)
        }
        ctx.onLimit?.(over)
        ctx.refusals.note(`${over} ${s.productKey}/${s.deviceName}`, 'publish over a limit: closing', { productKey: s.productKey, deviceName: s.deviceName, limit: over })
        done(new Error(`publish over the ${over === 'payload_size' ? 'payload size' : 'publish rate'} limit`))
      }, (err: unknown) => done(err as Error))
      return
    }
    const disconnect = ctx.deniedPublish === 'disconnect'
    ctx.onDeniedPublish?.(disconnect ? 'disconnected' : 'ignored')
    // The first refusal of each connection is logged (under `disconnect` there is only one).
    if (!ctx.deniedLogged.has(client)) {
      ctx.deniedLogged.add(client)
      // The topic is the client's: bounded in the log.
      const fields = { productKey: s?.productKey, deviceName: s?.deviceName, topic: packet.topic.slice(0, 256), qos: packet.qos }
      ctx.log.info(fields, disconnect ? 'publish outside the fences: closing' : 'publish outside the fences: dropped (further ones on this connection are not logged)')
    }
    if (disconnect) return done(new Error(`publish to ${packet.topic} is not allowed`))
    ctx.dropped.add(packet)
    done(null)
  }
}

/** A refused SUBSCRIBE gets SUBACK 0x80 for that topic; the others in the packet are unaffected. */
export function createAuthorizeSubscribe (ctx: HomingContext): AuthorizeSubscribe {
  return (client, sub, done) => {
    const s = ctx.connections.get(client)
    if (s !== undefined && allowed(sub.topic, s.productKey, s.deviceName, 'subscribe')) return done(null, sub)
    ctx.log.info({ productKey: s?.productKey, deviceName: s?.deviceName, topic: sub.topic }, 'subscribe outside the fences: refused')
    done(null, null)
  }
}
