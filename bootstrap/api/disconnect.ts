// Taking a device offline wherever it is connected: the sidecar writes the order into the log of
// the instance the device is assigned to, and the node holding it acts on it (broker/disconnect.ts).
// The log is durable, so a node that was stalled catches up; the others ignore it.
import type { Store } from '../../shared/store/store.js'
import type { Device, DisconnectReason } from '../../shared/types.js'

/** After the registry write (disable, delete): a node reading the event checks the registry, which must say so already. `now`: the sidecar's clock. */
export async function disconnectDevice (store: Store, device: Device, reason: DisconnectReason, now: number): Promise<void> {
  // Waiting for nearest placement: connected nowhere (CONNECT is refused until it is placed).
  if (device.instanceId === null) return
  await store.publishMove({ kind: 'disconnect', reason, productKey: device.productKey, deviceName: device.deviceName, fromInstanceId: device.instanceId, at: now })
}
