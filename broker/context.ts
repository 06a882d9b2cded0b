// What every hook of one broker node is handed: who the node is, the registry, and its live devices.
import type { Aedes, Client, PublishPacket } from 'aedes'
import type { Logger } from '../shared/log.js'
import type { KickReport } from '../shared/records.js'
import type { Store } from '../shared/store/store.js'
import type { EventQueue } from '../shared/timeline.js'
import type { DisconnectReason } from '../shared/types.js'
import type { DeniedAction, SdkFamily } from '../shared/metrics/devices.js'
import type { LimitReason } from '../shared/metrics/metrics.js'
import type { ConnectLimits, LockoutScope } from './connect-limits.js'
import type { Connections } from './connections.js'
import type { LogSummary } from './log-summary.js'
import type { PublishLimits } from './publish-limits.js'

/** A packet on Aedes' emitter (mqemitter in memory, mqemitter-redis across a cluster). */
export interface EmittedPacket {
  topic: string
  payload: Buffer | string
}

type Listener = (packet: EmittedPacket, done: () => void) => void

/** The part of Aedes' emitter the hooks use (Aedes' types leave `mq` out). */
export interface Emitter {
  on: (topic: string, listener: Listener, callback?: () => void) => unknown
  emit: (packet: EmittedPacket, callback?: (err?: Error) => void) => void
  removeListener: (topic: string, listener: Listener, callback?: () => void) => unknown
}

export function emitterOf (aedes: Aedes): Emitter {
  return (aedes as unknown as { mq: Emitter }).mq
}

import type { Redirects } from './redirect.js'

export interface HomingContext {
  aedes: Aedes
  mq: Emitter
  instanceId: string
  nodeId: string
  store: Store
  log: Logger
  connections: Connections
  /** Clients whose CONNECT this node accepted (set before CONNACK is written): their packets get the full size cap. */
  authenticated: WeakSet<Client>
  /** docs/protocol.md, "Notify and reply": how long to wait for notify_reply before the kick (ms). */
  notifyTimeoutMs: number
  /** docs/protocol.md, "CONNECT authentication": accepted keepalive range, seconds. */
  keepalive: { min: number, max: number }
  /** Aborted when the plugin closes: retries stop. */
  signal: AbortSignal
  /** Registry writes started by a hook and not awaited by it (presence marks); close() waits for them. */
  background: (work: Promise<unknown>) => void
  /** The devices' timeline events this node writes, never awaited (broker/timeline.ts). */
  timeline: EventQueue
  /** Told what each kick of an online device did (metrics). */
  onKick?: (report: KickReport) => void
  /** Told each time a disabled or deleted device's connections here were closed (metrics). */
  onDisconnect?: (reason: DisconnectReason) => void
  /** Failed CONNECTs per device and address (docs/operations.md, "Hardening"). */
  connectLimits: ConnectLimits
  publishLimits: PublishLimits
  /** Repeated log lines (CONNECT refusals, limit closes, move-stream read errors): one per key per window. */
  refusals: LogSummary
  /** config broker.deniedPublish: what a PUBLISH outside the fences does (broker/authorize.ts). */
  deniedPublish: 'ignore' | 'disconnect'
  /** PUBLISHes refused under `ignore`: acknowledged by Aedes, forwarded to no one (plugin.ts wraps publish). */
  dropped: WeakSet<PublishPacket>
  /** Connections whose first refused PUBLISH was logged. */
  deniedLogged: WeakSet<Client>
  onDeniedPublish?: (action: DeniedAction) => void
  /** An accepted device CONNECT, by SDK family and transport (metrics). */
  onDeviceConnect?: (sdk: SdkFamily, transport: string) => void
  /** A thing-model _reply sent, by Alink code (metrics). */
  onThingReply?: (code: number) => void
  /** Metrics hooks: a connection closed on a limit, a CONNECT refused by a lockout, a failed move-stream read. */
  onLimit?: (reason: LimitReason) => void
  onLockout?: (scope: LockoutScope) => void
  onMoveStreamError?: (kind: 'nogroup' | 'read', recreated: boolean) => void
  /** config broker.movedDevices: refuse (CONNACK 5) or redirect a device that moved away (broker/redirect.ts). */
  movedDevices: 'refuse' | 'redirect'
  redirects: Redirects
}
