// Domain types: plain data, defined once. Store backends and the HTTP layer translate at their edges.

export interface Region {
  id: string
  name: string
  lat: number
  lon: number
}

export interface Account {
  id: string
  name: string
  token: string
  webhook?: string
}

export interface Endpoint {
  host: string
  port: number
  /** IPv4 literal the Link SDK falls back to when DNS fails (docs/protocol.md, "Bootstrap"). */
  ip?: string
}

export interface Listen {
  host: string
  mqtt?: number
  mqtts?: number
  ws?: number
  wss?: number
  http?: number
  /** ws and wss: believe X-Forwarded-For (a trusted HTTP proxy in front). */
  trustProxy?: boolean
}

export interface Instance {
  id: string
  region: string
  account: string
  endpoint: Endpoint
  listen: Listen
}

export interface Product {
  productKey: string
  instanceId: string
  name: string
  /** Free text for the operator (Alibaba's product Description); absent on records made before it existed. */
  description?: string
  topicCategories: unknown[]
  tsl: unknown
  parsingScript: string | null
  /** docs/distribution.md, "Rule 3": a distributed copy is a read-only snapshot of the source. */
  readOnly: boolean
  /** Where a read-only copy came from. */
  sourceInstanceId: string | null
  createdAt: number
  updatedAt: number
}

/** Per-instance runtime data: stays where it was made (docs/distribution.md, "Rule 4"). */
export interface Runtime {
  active: boolean
  firstConnectAt: number | null
  lastConnectAt: number | null
  lastDisconnectAt: number | null
  lastAddress: string | null
  /** Last payload the device posted on thing/event/property/post at this instance. */
  properties: string | null
}

/** A placement candidate of a nearest-access job, before the device's first bootstrap. */
export interface Candidate {
  region: string
  instanceId: string
}

export interface Device {
  productKey: string
  deviceName: string
  deviceSecret: string
  /** Instance where the device was created; the only place it can be deleted (docs/distribution.md, "Rule 11"). */
  originInstanceId: string
  /** The one instance the device belongs to now, or null while it waits for nearest placement. */
  instanceId: string | null
  /** docs/distribution.md, "Rule 2": under nearest access, before first placement, the set of candidates. */
  candidates: Candidate[] | null
  /** False while disabled: CONNECT gets 5, bootstrap 403. Travels with the device when it is distributed. */
  enabled: boolean
  tags: Record<string, string>
  /** Broker node holding the device's connection, or null when offline. */
  online: { nodeId: string; session: string; since: number } | null
  /** Runtime data per instance id. */
  runtime: Record<string, Runtime>
  createdAt: number
  /** Last job that moved the device (makes the move step idempotent). */
  lastJobId: string | null
  placement: { instanceId: string; region: string; fallback: boolean; address: string | null; at: number } | null
}

export type Certificate = Pick<Device, 'productKey' | 'deviceName' | 'deviceSecret'>

export type JobStatus = 'initializing' | 'distributing' | 'distributed' | 'failed'
export type JobMethod = 'this-account' | 'cross-account'
export type JobPolicy = 'region' | 'nearest'

export interface Job {
  id: string
  accountId: string
  method: JobMethod
  policy: JobPolicy
  sourceInstanceId: string
  productKey: string
  deviceNames: string[]
  targetInstanceId: string | null
  targets: Candidate[]
  targetAccountId: string | null
  status: JobStatus
  total: number
  succeeded: number
  failed: number
  createdAt: number
  updatedAt: number
  error: string | null
  /** docs/distribution.md, "Rate, waves and settling": absent on jobs that set no pace (and on older jobs). */
  pace?: JobPace
}

/** How fast a job moves its devices, and how long its view waits for them to come back. */
export interface JobPace {
  /** Move events per second across the source instance, or null: as fast as it can. */
  rate: number | null
  /** Devices per wave, or null: one wave. */
  waveSize: number | null
  wavePauseSeconds: number
  settleTimeoutSeconds: number
}

/** docs/distribution.md, "Rule 10": a code for one pair of accounts, given by the destination's owner to the sender. */
export interface VerificationCode {
  id: string
  sourceAccountId: string
  targetAccountId: string
  /** Six digits. A secret: never logged, never shown to the sender. */
  code: string
  createdAt: number
  expiresAt: number
}

/** One row of a job's records CSV: productKey,deviceName,code,message. */
export interface JobRecord {
  productKey: string
  deviceName: string
  code: string
  /** For a moved device, derived from `move` (shared/records.ts, `moveMessage`); otherwise the failure's words. */
  message: string
  /** How far a moved device's move got (code `success`); absent for failures and pending devices. */
  move?: MoveProgress
}

/**
 * The stages of a device's move, as the job's record keeps them:
 * - `moved`: the runner moved it, the registry had it online (or could not tell), its old broker has not reported yet;
 * - `offline`: the runner moved it while the registry had it offline at the source;
 * - `kicked`: its old broker found it online and told it (how far that got: `kick`);
 * - `placed`: nearest access, a bootstrap placed it before the runner's record was written (only `placement` is known).
 */
export type MoveStage = 'moved' | 'offline' | 'kicked' | 'placed'

/** What the old broker did to a device it held when the move reached it (docs/protocol.md, "Notify and reply"). */
export interface KickProgress {
  notified: boolean
  answered: boolean
  disconnected: boolean
}

export interface MoveProgress {
  stage: MoveStage
  /** The destination instance, or null under nearest access (the device waits among candidates). */
  to: string | null
  /** Stage `kicked` only. */
  kick?: KickProgress
  /** Nearest access: where its first bootstrap placed it, in words (bootstrap/nearest-placement.ts, `placementNote`). */
  placement?: string
  /**
   * The runner has published the device's move event (or knows none is due). Kept beside the record, not in
   * it (a set per job), so that the old broker's write of the record never loses it. A record at `moved`,
   * `offline` or `placed` that is not announced gets its event again when the job resumes.
   */
  announced?: boolean
}

/**
 * Events in an instance's durable log, read by every broker node of that instance (broker/moves.ts).
 * `fromInstanceId` names the log: the instance the device is leaving, or must go offline at.
 */
export type MoveEvent = DeviceMoved | DeviceDisconnect

/** A device left the instance (docs/protocol.md, "Notify"). `kind` is absent in events written before disconnects existed. */
export interface DeviceMoved {
  kind?: 'moved'
  jobId: string
  productKey: string
  deviceName: string
  fromInstanceId: string
  toInstanceId: string | null
}

export type DisconnectReason = 'disabled' | 'deleted'

/** The device must go offline at the instance now, without a notify: it was disabled or deleted. */
export interface DeviceDisconnect {
  kind: 'disconnect'
  reason: DisconnectReason
  productKey: string
  deviceName: string
  fromInstanceId: string
  /** When the sidecar published it (ms since the epoch), for the log. */
  at: number
}
