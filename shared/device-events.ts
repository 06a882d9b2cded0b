// A device's timeline (docs/operations.md, "Device timeline"): small typed events, the last few
// hundred per device, written by the sidecar and the broker nodes as things happen to the device.
// Plain data, like every domain type; the registry keeps them newest first.

/** How many events the registry keeps per device when the config does not say (`limits.deviceEvents`). */
export const DEVICE_EVENTS_KEPT = 200

/** Why a broker node saw a device's connection close. */
export type DisconnectCause =
  /** The device sent DISCONNECT. */
  | 'client'
  /** No packet within 1.5 keepalives ([MQTT-3.1.2-24]). */
  | 'timeout'
  /** Moved away: notified, then disconnected by its old broker. */
  | 'kicked'
  /** A newer connection of the same device took over. */
  | 'replaced'
  | 'disabled'
  | 'deleted'
  /** Over a broker limit (packet size, publish rate, ...). */
  | 'limit'
  /** The node itself was stopping. */
  | 'shutdown'
  /** The socket closed without a DISCONNECT (network loss, the device went away). */
  | 'closed'

interface At {
  /** Milliseconds since the epoch, by the clock of the process that wrote it. */
  at: number
}

export type DeviceEvent = At & (
  | { kind: 'created', instanceId: string }
  /** POST /auth/bootstrap answered: from which address, and which instance's endpoint it was sent. */
  | { kind: 'bootstrapped', instanceId: string, region: string, address: string | null, endpoint: { host: string, port: number } }
  | { kind: 'connected', instanceId: string, nodeId: string, address: string | null, transport: string, sdk: string, sdkVersion: string | null }
  | { kind: 'disconnected', instanceId: string, nodeId: string, reason: DisconnectCause }
  /** thing/bootstrap/notify sent by its old broker after a move. */
  | { kind: 'notified', instanceId: string, nodeId: string }
  /** Its notify_reply arrived. */
  | { kind: 'answered', instanceId: string, nodeId: string }
  /** A job moved its assignment; `to` is null under nearest access (it waits among candidates). */
  | { kind: 'moved', jobId: string, from: string, to: string | null }
  /** Nearest access: its first bootstrap placed it. */
  | { kind: 'placed', instanceId: string, region: string, address: string | null, fallback: boolean, jobId: string | null }
  | { kind: 'disabled', instanceId: string }
  | { kind: 'enabled', instanceId: string }
  /** Its tags were replaced; `count` tags now. */
  | { kind: 'tags', instanceId: string, count: number }
)

export type DeviceEventKind = DeviceEvent['kind']

/** One event of one device, as written. */
export interface DeviceEventEntry {
  productKey: string
  deviceName: string
  event: DeviceEvent
}
