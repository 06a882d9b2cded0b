// A device disabled or deleted while online is taken offline at once by whichever node holds it
// (docs/operations.md, "Disabling a device"). The event comes through the instance's durable log
// (broker/moves.ts), so a node that was stalled acts on it when it catches up. No notify: the device
// has nowhere to go, and its next CONNECT gets 5 (disabled) or 4 (deleted) (broker/authenticate.ts).
import type { Device, DeviceDisconnect } from '../shared/types.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import type { Kicker } from './kick.js'
import { willClose } from './timeline.js'

/** `device`: the registry's record, read when the event was (null: deleted). */
export async function disconnectHeld (ctx: HomingContext, kicker: Kicker, event: DeviceDisconnect, held: DeviceSession[], device: Device | null): Promise<void> {
  const { productKey, deviceName, reason } = event
  // A replayed event must not cut a device that may connect here now (enabled again since).
  if (device !== null && device.enabled && device.instanceId === ctx.instanceId) return
  willClose(held, reason)
  const report = await kicker.cut(held)
  if (!report.online) return
  ctx.onDisconnect?.(reason)
  ctx.log.info({ productKey, deviceName, reason, disconnected: report.disconnected, lagMs: Date.now() - event.at }, `device ${reason}: disconnected`)
}
