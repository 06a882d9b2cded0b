// docs/protocol.md, "CONNECT authentication": one live connection per identity on every node of the instance. A new connection is
// announced on the instance's emitter (mqemitter-redis spreads it across the cluster); each node
// closes its own older connections of that identity.
import { StoreUnavailableError } from '../shared/store/store.js'
import type { DeviceSession } from './connections.js'
import type { EmittedPacket, HomingContext } from './context.js'
import { willClose } from './timeline.js'

/** Internal: under $SYS, outside every device's fences (docs/protocol.md, "Topics"), so no device can see or send it. */
export const TAKEOVER_TOPIC = '$SYS/homing/takeover'

interface Announcement {
  productKey: string
  deviceName: string
  session: string
  nodeId: string
}

export function announce (ctx: HomingContext, s: DeviceSession): Promise<void> {
  const message: Announcement = { productKey: s.productKey, deviceName: s.deviceName, session: s.session, nodeId: ctx.nodeId }
  return new Promise((resolve, reject) => {
    ctx.mq.emit({ topic: TAKEOVER_TOPIC, payload: JSON.stringify(message) }, (err?: Error) => err ? reject(err) : resolve())
  })
}

/** Listens for announcements from every node, this one included. */
export function listenTakeovers (ctx: HomingContext): { ready: Promise<void>, close: () => Promise<void> } {
  const listener = (packet: EmittedPacket, done: () => void): void => {
    // Released at once: a registry read must not hold one of the emitter's concurrency slots.
    done()
    ctx.background(replaceOlder(ctx, parse(packet.payload)).catch(err => {
      ctx.log.error({ err }, 'takeover failed')
    }))
  }
  const ready = new Promise<void>(resolve => ctx.mq.on(TAKEOVER_TOPIC, listener, () => resolve()))
  return {
    ready,
    close: () => new Promise<void>(resolve => ctx.mq.removeListener(TAKEOVER_TOPIC, listener, () => resolve()))
  }
}

function parse (payload: Buffer | string): Announcement | null {
  try {
    return JSON.parse(payload.toString()) as Announcement
  } catch {
    return null
  }
}

async function replaceOlder (ctx: HomingContext, a: Announcement | null): Promise<void> {
  if (a === null) return
  // Only connections the registry already marked: one still authenticating announces itself later.
  const older = ctx.connections.of(a.productKey, a.deviceName).filter(s => s.marked && !s.closed && s.session !== a.session)
  if (older.length === 0) return
  // Two connections racing on two nodes each announce; the registry's last online mark is the one
  // that stays, so both nodes agree without comparing clocks.
  const winner = await liveSession(ctx, a)
  for (const s of older) {
    if (s.session === winner) continue
    ctx.log.info({ productKey: s.productKey, deviceName: s.deviceName, clientId: s.client.id, byNode: a.nodeId }, 'connection replaced by a newer one')
    willClose([s], 'replaced')
    s.client.close()
  }
}

async function liveSession (ctx: HomingContext, a: Announcement): Promise<string | undefined> {
  try {
    return (await ctx.store.getDevice(a.productKey, a.deviceName))?.online?.session
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    return a.session // registry down: the newcomer wins
  }
}
