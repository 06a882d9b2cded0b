// The shared registry: one interface, two backends (docs/architecture.md, "Where state lives"). Both pass test/store.contract.ts.
import type { DeviceEvent, DeviceEventEntry } from '../device-events.js'
import type { DeviceStatus } from '../device-status.js'
import type { Mark } from './indexes.js'
import type { Candidate, Device, Job, JobRecord, MoveEvent, Product, VerificationCode } from '../types.js'

/** The registry cannot be reached: bootstrap answers 503, brokers CONNACK 3. */
export class StoreUnavailableError extends Error {
  constructor (message = 'registry unavailable', options?: ErrorOptions) {
    super(message, options)
    this.name = 'StoreUnavailableError'
  }
}

/**
 * The registry answers but refuses to write (Redis out of memory under `noeviction`, a read-only
 * replica, a failed snapshot): the call changed nothing. Still "unavailable" to callers that only
 * care whether they can go on (503, CONNACK 3).
 */
export class StoreRefusedError extends StoreUnavailableError {
  constructor (message = 'registry refuses writes', options?: ErrorOptions) {
    super(message, options)
    this.name = 'StoreRefusedError'
  }
}

export type MoveOutcome =
  /** Assignment moved from `from` to `to` just now. */
  | { result: 'moved', device: Device, wasOnline: Device['online'] }
  /** This job already moved it (a resumed job repeats the step). */
  | { result: 'already', device: Device }
  | { result: 'not-found' }
  /** The device is not at the job's source instance. */
  | { result: 'not-at-source', device: Device }

export type PlaceOutcome =
  | { result: 'placed', device: Device }
  /** Already had a home (a concurrent bootstrap placed it first, or it was never waiting). */
  | { result: 'kept', device: Device }
  | { result: 'not-found' }

export interface ConnectedInfo {
  instanceId: string
  nodeId: string
  session: string
  address: string | null
  at: number
  /**
   * The device's timeline event for this CONNECT, appended (capped as appendDeviceEvents) in the same
   * atomic step as the mark, only when the outcome is 'ok': a CONNECT costs no command of its own for it.
   */
  event?: DeviceEvent
}

export type ConnectedOutcome =
  /** `replaced`: the online mark this one overwrote (another live connection, or a stale mark), if any. */
  | { result: 'ok', device: Device, firstConnect: boolean, replaced: Device['online'] }
  | { result: 'not-found' }
  /** Moved away between authentication and registration. */
  | { result: 'not-assigned', device: Device }
  /** Disabled between authentication and registration. */
  | { result: 'disabled', device: Device }

export type EnabledOutcome =
  | { result: 'changed', device: Device }
  /** Already in the state asked for: nothing was written. */
  | { result: 'unchanged', device: Device }
  /** The device no longer lives at the instance given: nothing was written. */
  | { result: 'not-here', device: Device }
  | { result: 'not-found' }

/**
 * A listing of a product's devices by one index (shared/store/indexes.ts), in name order. `status`
 * and `movedOnly` need `instanceId`. A page by `after` (the last name of the page before) costs the
 * same however many devices there are; `offset` reads `offset + limit` names of each bucket.
 */
export interface DeviceQuery {
  productKey: string
  /** Devices living at this instance (assigned, or among the placement candidates); absent: every device of the product. */
  instanceId?: string
  status?: DeviceStatus
  /** Only devices a job moved to where they are now (GET /distribution/devices). */
  movedOnly?: boolean
  /** Names starting with this. */
  prefix?: string
  /** Names after this one. */
  after?: string
  offset?: number
  limit: number
}

export interface DevicePage {
  devices: Device[]
  /** The last name of the page when more may follow (the next page's `after`), else null. */
  next: string | null
}

/** Devices living at an instance: all of them, and by status. */
export type DeviceCounts = Record<'total' | DeviceStatus, number>

export interface JobFilter {
  accountId: string
  status?: Job['status']
  productKey?: string
  offset: number
  limit: number
}

/** Verification codes are kept per (source account, destination account). */
export interface CodePair {
  sourceAccountId: string
  targetAccountId: string
}

export type IssueCodeOutcome =
  | { result: 'issued' }
  /** Too many wrong tries for this pair: nothing is issued until `until`. */
  | { result: 'locked', until: number }
  /** `maxPending` codes of this pair are still valid; one expires at `retryAt`. */
  | { result: 'too-many', retryAt: number }

/** How codes are checked; the store applies it atomically, the caller decides it. */
export interface CodeCheck {
  now: number
  /** Wrong tries within `failureWindowMs` before the pair's pending codes are void. */
  maxFailures: number
  failureWindowMs: number
  /** How long a pair stays locked once its codes were voided. */
  lockMs: number
}

export type CheckCodeOutcome =
  /** The code matched a valid pending code of the pair, which is now used up. */
  | { result: 'accepted' }
  /** Wrong, expired or used. `voided`: this was the last allowed try; the pair's codes are void and it is locked until `until`. */
  | { result: 'refused', failures: number, voided: false }
  | { result: 'refused', failures: number, voided: true, until: number }
  | { result: 'locked', until: number }

export interface MoveSubscription {
  /** False from a failed read of the event log until a read succeeds again. */
  consuming: () => boolean
  close: () => Promise<void>
}

/** A per-event handler as a batch handler: each event in turn; one that throws does not stop the rest. */
export function oneByOne (handler: (event: MoveEvent) => Promise<void>): (events: MoveEvent[]) => Promise<void> {
  return async events => {
    for (const event of events) {
      try {
        await handler(event)
      } catch {}
    }
  }
}

/** A failed read of the event log: `nogroup` when the registry lost the consumer group; `recreated` when it was made again. */
export type MoveReadError = (err: Error, kind: 'nogroup' | 'read', recreated: boolean) => void

export interface Store extends ConnectionHistoryStore {
  readonly kind: 'redis' | 'memory'

  /** Resolves when the registry answers; rejects with StoreUnavailableError. */
  ping: () => Promise<void>
  close: () => Promise<void>

  // Products: one record per (productKey, instanceId); a distributed copy is a read-only snapshot.
  /** False when the instance already has a product with this key. */
  createProduct: (product: Product) => Promise<boolean>
  getProduct: (productKey: string, instanceId: string) => Promise<Product | null>
  /** Every instance's record of this productKey. */
  productCopies: (productKey: string) => Promise<Product[]>
  listProducts: (instanceId: string) => Promise<Product[]>
  updateProduct: (product: Product) => Promise<void>
  deleteProduct: (productKey: string, instanceId: string) => Promise<void>

  // Devices: identity is (productKey, deviceName), global across instances.
  /** Creates each device whose name is free; returns the names that were taken (nothing else changes for them). */
  createDevices: (devices: Device[]) => Promise<string[]>
  getDevice: (productKey: string, deviceName: string) => Promise<Device | null>
  /** Pipelined read, in the order given. */
  getDevices: (productKey: string, deviceNames: string[]) => Promise<(Device | null)[]>
  /** A page of devices by index (see DeviceQuery); a device that changed index while it was read is left out. */
  listDevices: (query: DeviceQuery) => Promise<DevicePage>
  /** Devices of the product living at the instance (with names starting with `prefix`), counted from the indexes: no device is read. */
  countDevices: (productKey: string, instanceId: string, prefix?: string) => Promise<DeviceCounts>
  /** `moved`: devices of the product a job moved to the instance; `away`: created at the instance, living elsewhere now. */
  countMarked: (productKey: string, instanceId: string, mark: Mark) => Promise<number>
  /** Deletes the device's record, its index entries and its events. */
  deleteDevice: (productKey: string, deviceName: string) => Promise<void>
  setTags: (productKey: string, deviceName: string, tags: Record<string, string>) => Promise<Device | null>
  /**
   * Atomically and idempotently, only while the device lives at `instanceId` (assigned there, or a
   * placement candidate). A disabled device is refused by `connected` and keeps its state when moved.
   */
  disableDevice: (productKey: string, deviceName: string, instanceId: string) => Promise<EnabledOutcome>
  enableDevice: (productKey: string, deviceName: string, instanceId: string) => Promise<EnabledOutcome>

  // Broker side.
  /** Marks the device online at a node and active at the instance (docs/distribution.md, "Rule 5"), atomically. */
  /** `seen`: the record the caller just got from getDevice; the Redis backend then saves a read (hot path: CONNECT). */
  connected: (productKey: string, deviceName: string, info: ConnectedInfo, seen?: Device) => Promise<ConnectedOutcome>
  /**
   * Clears the online mark only when `session` still holds it (a takeover may have replaced it), and
   * with it appends `event` to the device's timeline (capped as appendDeviceEvents), in the same atomic
   * step. Answers whether it cleared the mark: when not, `event` was not written either.
   */
  disconnected: (productKey: string, deviceName: string, session: string, at: number, event?: DeviceEvent) => Promise<boolean>
  /** Runtime data (docs/distribution.md, "Rule 4"): last property post at the instance where it was made. */
  setProperties: (productKey: string, deviceName: string, instanceId: string, payload: string) => Promise<void>

  // Device timeline (docs/operations.md, "Device timeline"): per device, the last `limits.deviceEvents` events.
  /** Appends each entry to its device's log, in the order given, pipelined (one round per node); older events beyond the cap are dropped. */
  appendDeviceEvents: (entries: DeviceEventEntry[]) => Promise<void>
  /** The device's last `limit` events, newest first. */
  deviceEvents: (productKey: string, deviceName: string, limit: number) => Promise<DeviceEvent[]>

  // Distribution.
  /**
   * docs/distribution.md, "Rule 2": copy the certificate and move the assignment in one atomic step: clears tags
   * (rule 4), marks the device inactive at `to` (rule 5). Idempotent for the same jobId.
   */
  moveDevice: (productKey: string, deviceName: string, move: { from: string, to: string, jobId: string }) => Promise<MoveOutcome>
  /** `moveDevice` for each device, pipelined (a job's batch): outcomes in the order given, each move atomic on its own. */
  /**
   * `seen`: the records the caller just read with getDevices, in the same order; the Redis backend then
   * saves the second read of the batch (the compare-and-set still checks each is current, and an outcome
   * that writes nothing is taken only from a fresh read).
   */
  moveDevices: (productKey: string, deviceNames: string[], move: { from: string, to: string, jobId: string }, seen?: Array<Device | null>) => Promise<MoveOutcome[]>
  /** Nearest access: the device leaves `from` and waits for placement among `candidates`. */
  setCandidates: (productKey: string, deviceName: string, move: { from: string, candidates: Candidate[], jobId: string }) => Promise<MoveOutcome>
  /** Nearest access, at first bootstrap: place once, atomically (concurrent bootstraps place it once). */
  place: (productKey: string, deviceName: string, placement: NonNullable<Device['placement']>) => Promise<PlaceOutcome>

  /** Durable: appended to the source instance's event log. */
  publishMove: (event: MoveEvent) => Promise<void>
  /** `publishMove` for each event, in order, pipelined. */
  publishMoves: (events: MoveEvent[]) => Promise<void>
  /**
   * For each consumer of the instance's event log: how many events it has not finished yet (not read,
   * or read and not acknowledged). Optional: a store without it lets a paced job rely on time alone.
   */
  moveBacklogs?: (instanceId: string) => Promise<number[]>
  /**
   * Every consumer (one per broker node, by a stable id) sees every event of the instance once,
   * including those published while it was down. `handler` resolves when the event is done.
   */
  consumeMoves: (instanceId: string, consumerId: string, handler: (event: MoveEvent) => Promise<void>, onError?: MoveReadError) => Promise<MoveSubscription>
  /**
   * `consumeMoves` a read at a time: `handler` gets the events of one read of the log, in order, and
   * resolves when they are done; they are acknowledged together (a broker node pipelines its
   * registry work per batch). A handler that throws has its batch acknowledged all the same.
   */
  consumeMoveBatches: (instanceId: string, consumerId: string, handler: (events: MoveEvent[]) => Promise<void>, onError?: MoveReadError) => Promise<MoveSubscription>

  // Jobs.
  createJob: (job: Job) => Promise<void>
  getJob: (id: string) => Promise<Job | null>
  updateJob: (job: Job) => Promise<void>
  listJobs: (filter: JobFilter) => Promise<{ jobs: Job[], total: number }>
  /** Jobs not yet distributed or failed, for the runner to resume. */
  unfinishedJobs: () => Promise<string[]>
  /** Takes or renews the job's lease for `owner`; false when another live owner holds it. */
  leaseJob: (id: string, owner: string, ttlMs: number) => Promise<boolean>
  releaseJob: (id: string, owner: string) => Promise<void>
  /** Upserts per device (a repeated step rewrites its own record). */
  putRecords: (jobId: string, records: JobRecord[]) => Promise<void>
  getRecords: (jobId: string) => Promise<JobRecord[]>
  /**
   * Nearest access: where a device was placed, kept beside its record so that later writes of the
   * record (the runner's, the old broker's) never lose it; getRecords reads it as `move.placement` (and so in the message).
   */
  notePlacement: (jobId: string, productKey: string, deviceName: string, note: string) => Promise<void>
  /**
   * The runner has published these devices' move events: kept beside their records (the old broker's
   * later write of a record cannot lose it); getRecords reads it as `move.announced`.
   */
  markAnnounced: (jobId: string, devices: Array<{ productKey: string, deviceName: string }>) => Promise<void>

  // Verification codes (docs/distribution.md, "Rule 10"). `now` comes from the caller, so tests control the clock.
  /** Stores a new code unless the pair is locked or already has `maxPending` valid codes. */
  issueCode: (code: VerificationCode, limits: { now: number, maxPending: number }) => Promise<IssueCodeOutcome>
  /** Codes addressed to this account that are still valid at `now`, oldest first. */
  codesFor: (targetAccountId: string, now: number) => Promise<VerificationCode[]>
  /**
   * Checks `presented` against the pair's valid codes in constant time and uses up the one it
   * matches (once, however many requests race). Every try counts against `maxFailures` before it is
   * compared, so racing guesses cannot exceed it.
   */
  checkCode: (pair: CodePair, presented: string, check: CodeCheck) => Promise<CheckCodeOutcome>
}

/** One reading of a broker node's connections gauge (the value its /metrics shows). */
export interface ConnectionSample {
  at: number
  connections: number
}

/** One broker node's samples, oldest first. */
export interface NodeConnections {
  nodeId: string
  samples: ConnectionSample[]
}

/**
 * Connections over time (docs/operations.md, "Connections over time"): each broker node writes its
 * own samples; readers sum the nodes. Kept apart from `Store` so that the interface grows at its end.
 */
export interface ConnectionHistoryStore {
  /** Appends a node's samples; drops those older than `keepMs` before the newest (and a node silent that long). */
  recordConnectionSamples: (instanceId: string, nodeId: string, samples: ConnectionSample[], keepMs: number) => Promise<void>
  /** Every node of the instance with samples at or after `since`, and those samples, oldest first. */
  connectionHistory: (instanceId: string, since: number) => Promise<NodeConnections[]>
}
