// What a broker node adds to a device's timeline (docs/operations.md, "Device timeline"): connected,
// notified, answered, disconnected and why. Never awaited by the hooks. `connected` and
// `disconnected` go with the online and offline marks, in the registry's script that writes them
// (broker/presence.ts: no command of their own); the rest go out in the next batch (shared/timeline.ts,
// EventQueue: one pipelined write per 10 ms), so CONNECT pays no round trip.
import type { Client } from 'aedes'
import type { SdkFamily } from '../shared/client-id.js'
import type { DeviceEvent, DisconnectCause } from '../shared/device-events.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { addressOf } from './presence.js'

/** How a device connected, as its `connected` event tells it. */
export interface ConnectedVia {
  transport: string
  sdk: SdkFamily
  sdkVersion: string | undefined
}

/** The first reason given wins: a kick's close is `kicked` even if the socket errors on the way. */
export function willClose (sessions: DeviceSession[], cause: DisconnectCause): void {
  for (const s of sessions) s.closeCause ??= cause
}

export function connectedEvent (ctx: HomingContext, s: DeviceSession, via: ConnectedVia, at: number): DeviceEvent {
  return { kind: 'connected', at, instanceId: ctx.instanceId, nodeId: ctx.nodeId, address: addressOf(s.client), transport: via.transport, sdk: via.sdk, sdkVersion: via.sdkVersion ?? null }
}

export function disconnectedEvent (ctx: HomingContext, s: DeviceSession, at: number): DeviceEvent {
  return { kind: 'disconnected', at, instanceId: ctx.instanceId, nodeId: ctx.nodeId, reason: causeOf(ctx, s) }
}

/**
 * Before an event of the session goes with its registry mark: an earlier event of the device still
 * waiting in the queue (a kick's `answered` just before its close) is sent first, so that the mark's
 * event is not written ahead of it.
 */
export function sendEarlier (ctx: HomingContext, s: DeviceSession): void {
  ctx.timeline.sendFor(s.productKey, s.deviceName)
}

/** Into the next batch. */
export function note (ctx: HomingContext, s: DeviceSession, event: DeviceEvent): void {
  ctx.timeline.add(s.productKey, s.deviceName, event)
}

export function noteNotify (ctx: HomingContext, s: DeviceSession, kind: 'notified' | 'answered'): void {
  note(ctx, s, { kind, at: Date.now(), instanceId: ctx.instanceId, nodeId: ctx.nodeId })
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
