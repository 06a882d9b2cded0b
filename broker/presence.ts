// Online and offline marks in the registry, one per connection (its own session id), so that a
// takeover's newer connection is never marked offline by the older one going away.
import type { Client } from 'aedes'
import type { ConnectedOutcome } from '../shared/store/store.js'
import type { Device } from '../shared/types.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { whenAvailable } from './registry.js'
import { connectedEvent, disconnectedEvent, note, sendEarlier, type ConnectedVia } from './timeline.js'

/** Holds the session on this node and clears it (and its online mark) when the socket closes. */
export function hold (ctx: HomingContext, s: DeviceSession): void {
  ctx.connections.add(s)
  const release = (): void => {
    if (s.closed) return
    s.closed = true
    ctx.connections.remove(s)
    if (s.marked) markOffline(ctx, s)
  }
  s.client.conn.once('close', release)
  // Closed while we were authenticating: the 'close' event is already gone.
  if (s.client.closed || s.client.conn.destroyed) release()
}

/**
 * docs/distribution.md, "Rule 5": marks the device online here and active at this instance, atomically with the
 * check that it is still assigned here (it may have moved since authentication read it), and writes
 * its `connected` timeline event (`via`) with the mark: only when the mark is written.
 * `replaced`: the registry held another connection's online mark, which this one overwrote.
 * `seen`: the record authentication just read (saves the registry a read).
 */
export async function markOnline (ctx: HomingContext, s: DeviceSession, via: ConnectedVia, seen?: Device): Promise<{ result: ConnectedOutcome['result'], replaced: boolean }> {
  const at = Date.now()
  sendEarlier(ctx, s)
  const outcome = await ctx.store.connected(s.productKey, s.deviceName, {
    instanceId: ctx.instanceId,
    nodeId: ctx.nodeId,
    session: s.session,
    address: addressOf(s.client),
    at,
    event: connectedEvent(ctx, s, via, at)
  }, seen)
  if (outcome.result !== 'ok') return { result: outcome.result, replaced: false }
  s.marked = true
  // The socket closed while the registry answered: take the mark back.
  if (s.closed) markOffline(ctx, s)
  return { result: 'ok', replaced: outcome.replaced !== null }
}

/**
 * Retried while the registry is down: a later connection of the device has another session, so a late write is harmless.
 * The `disconnected` event goes with the offline mark; when there is no mark of this session to clear
 * (a newer connection took it over, or the device is gone), it goes into the queue: every marked
 * connection's close is in the timeline, whoever holds the mark.
 */
function markOffline (ctx: HomingContext, s: DeviceSession): void {
  const at = Date.now()
  const event = disconnectedEvent(ctx, s, at)
  sendEarlier(ctx, s)
  ctx.background(whenAvailable(ctx, () => ctx.store.disconnected(s.productKey, s.deviceName, s.session, at, event)).then(cleared => {
    if (!cleared) note(ctx, s, event)
  }, err => {
    ctx.log.warn({ productKey: s.productKey, deviceName: s.deviceName, err: (err as Error).message }, 'could not clear the online mark')
  }))
}

/** The device's address: Aedes' connDetails (trusted proxy, WebSocket), else the socket's peer. */
export function addressOf (client: Client): string | null {
  // Aedes fills connDetails when it sits behind a trusted proxy (PROXY protocol, X-Forwarded-For).
  const details = (client as unknown as { connDetails?: { ipAddress?: string } | null }).connDetails
  const socket = client.conn as { remoteAddress?: string }
  return details?.ipAddress ?? socket.remoteAddress ?? null
}
