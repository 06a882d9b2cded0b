// What a broker node adds to a device's timeline (docs/operations.md, "Device timeline"): connected,
// notified, answered, disconnected and why. Never awaited by the hooks: the events go out in the
// next batch (shared/timeline.ts, EventQueue: one pipelined write per 10 ms), so CONNECT pays no round trip.
import type { Client } from 'aedes'
import type { DisconnectCause } from '../shared/device-events.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { addressOf } from './presence.js'

/** The first reason given wins: a kick's close is `kicked` even if the socket errors on the way. */
export function willClose (sessions: DeviceSession[], cause: DisconnectCause): void {
  for (const s of sessions) s.closeCause ??= cause
}

export function noteConnected (ctx: HomingContext, s: DeviceSession, transport: string, sdk: string, sdkVersion: string | undefined): void {
  ctx.timeline.add(s.productKey, s.deviceName, {
    kind: 'connected', at: Date.now(), instanceId: ctx.instanceId, nodeId: ctx.nodeId, address: addressOf(s.client), transport, sdk, sdkVersion: sdkVersion ?? null
  })
}

export function noteDisconnected (ctx: HomingContext, s: DeviceSession): void {
  ctx.timeline.add(s.productKey, s.deviceName, { kind: 'disconnected', at: Date.now(), instanceId: ctx.instanceId, nodeId: ctx.nodeId, reason: causeOf(ctx, s) })
}

export function noteNotify (ctx: HomingContext, s: DeviceSession, kind: 'notified' | 'answered'): void {
  ctx.timeline.add(s.productKey, s.deviceName, { kind, at: Date.now(), instanceId: ctx.instanceId, nodeId: ctx.nodeId })
}

function causeOf (ctx: HomingContext, s: DeviceSession): DisconnectCause {
  if (s.closeCause !== undefined) return s.closeCause
  // Aedes sets it on a DISCONNECT packet (lib/handlers/index.js).
  if ((s.client as unknown as { _disconnected?: boolean })._disconnected === true) return 'client'
  if ((ctx.aedes as unknown as { closed?: boolean }).closed === true) return 'shutdown'
  return 'closed'
}

/** Aedes closes a connection that missed its keepalive with an error: name the cause before the close is seen. */
export function watchKeepalives (ctx: HomingContext): () => void {
  const onTimeout = (client: Client): void => {
    const s = ctx.connections.get(client)
    if (s !== undefined) willClose([s], 'timeout')
  }
  ctx.aedes.on('keepaliveTimeout', onTimeout)
  return () => { ctx.aedes.off('keepaliveTimeout', onTimeout) }
}
