// The memory backend: for `homing up` without `redis`, where every component shares one process.
import { DEVICE_EVENTS_KEPT, type DeviceEvent, type DeviceEventEntry } from '../device-events.js'
import type { Device, Job, JobRecord, MoveEvent, Product, VerificationCode } from '../types.js'
import { byAge, isValid, matching, samePair } from './codes.js'
import { readRecord, storedRecord } from './record-form.js'
import { placementNoteKey, withAnnouncements, withPlacementNotes } from './placement-notes.js'
import { DEVICE_STATUSES, atIndex, indexEntries, inRange, markIndex, queryIndex, type Mark } from './indexes.js'
import { oneByOne, type CheckCodeOutcome, type CodeCheck, type CodePair, type ConnectionSample, type DeviceCounts, type DevicePage, type DeviceQuery, type EnabledOutcome, type IssueCodeOutcome, type JobFilter, type MoveSubscription, type NodeConnections, type Store } from './store.js'
import * as t from './transitions.js'

const copy = <T>(value: T): T => structuredClone(value)
const deviceKey = (pk: string, dn: string): string => `${pk}/${dn}`
const pairKey = (pair: CodePair): string => `${pair.sourceAccountId}/${pair.targetAccountId}`

/** Move events handed to a consumer at once, as a Redis read of the log would. */
const MOVE_BATCH = 500

interface Consumer {
  cursor: number
  handler: ((events: MoveEvent[]) => Promise<void>) | null
  running: boolean
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  private readonly products = new Map<string, Map<string, Product>>()
  private readonly devices = new Map<string, Device>()
  private readonly names = new Map<string, Set<string>>()
  private readonly jobs = new Map<string, Job>()
  private readonly records = new Map<string, Map<string, JobRecord>>()
  private readonly leases = new Map<string, { owner: string, until: number }>()
  private readonly logs = new Map<string, MoveEvent[]>()
  private readonly consumers = new Map<string, Consumer>()
  private readonly placementNotes = new Map<string, Map<string, string>>()
  private readonly announced = new Map<string, Set<string>>()
  private readonly codes = new Map<string, VerificationCode>()
  private readonly codeFailures = new Map<string, { count: number, first: number }>()
  private readonly codeLocks = new Map<string, number>()
  /** Per instance, per node: samples of its connections, oldest first. */
  private readonly connectionSamples = new Map<string, Map<string, ConnectionSample[]>>()
  /** Per device, newest first. */
  private readonly events = new Map<string, DeviceEvent[]>()

  /** `deviceEventsKept`: events kept per device (config `limits.deviceEvents`). */
  constructor (private readonly options: { deviceEventsKept?: number } = {}) {}

  async ping (): Promise<void> {}
  async close (): Promise<void> {
    for (const c of this.consumers.values()) c.handler = null
  }

  async createProduct (product: Product): Promise<boolean> {
    const copies = this.products.get(product.productKey) ?? new Map<string, Product>()
    if (copies.has(product.instanceId)) return false
    copies.set(product.instanceId, copy(product))
    this.products.set(product.productKey, copies)
    return true
  }

  async getProduct (productKey: string, instanceId: string): Promise<Product | null> {
    const p = this.products.get(productKey)?.get(instanceId)
    return p ? copy(p) : null
  }

  async productCopies (productKey: string): Promise<Product[]> {
    return [...(this.products.get(productKey)?.values() ?? [])].map(copy)
  }

  async listProducts (instanceId: string): Promise<Product[]> {
    const out: Product[] = []
    for (const copies of this.products.values()) {
      const p = copies.get(instanceId)
      if (p) out.push(copy(p))
    }
    return out.sort((a, b) => a.productKey.localeCompare(b.productKey))
  }

  async updateProduct (product: Product): Promise<void> {
    this.products.get(product.productKey)?.set(product.instanceId, copy(product))
  }

  async deleteProduct (productKey: string, instanceId: string): Promise<void> {
    this.products.get(productKey)?.delete(instanceId)
  }

  async createDevices (devices: Device[]): Promise<string[]> {
    const taken: string[] = []
    for (const d of devices) {
      const key = deviceKey(d.productKey, d.deviceName)
      if (this.devices.has(key)) {
        taken.push(d.deviceName)
        continue
      }
      this.devices.set(key, copy(d))
      const names = this.names.get(d.productKey) ?? new Set<string>()
      names.add(d.deviceName)
      this.names.set(d.productKey, names)
    }
    return taken
  }

  async getDevice (productKey: string, deviceName: string): Promise<Device | null> {
    const d = this.devices.get(deviceKey(productKey, deviceName))
    return d ? copy(d) : null
  }

  async getDevices (productKey: string, deviceNames: string[]): Promise<(Device | null)[]> {
    return Promise.all(deviceNames.map(dn => this.getDevice(productKey, dn)))
  }

  /** The product's devices in an index, in name order: the same indexes as Redis, derived on each call (cost does not matter here). */
  private indexed (productKey: string, index: string): Device[] {
    const names = [...(this.names.get(productKey) ?? [])].sort()
    return names.flatMap(dn => {
      const d = this.devices.get(deviceKey(productKey, dn))
      return d !== undefined && indexEntries(d).includes(index) ? [d] : []
    })
  }

  async listDevices (q: DeviceQuery): Promise<DevicePage> {
    const all = this.indexed(q.productKey, queryIndex(q)).filter(d => inRange(d.deviceName, q))
    const from = q.offset ?? 0
    const page = all.slice(from, from + q.limit)
    const more = all.length > from + q.limit
    return { devices: page.map(copy), next: more ? page.at(-1)?.deviceName ?? null : null }
  }

  async countDevices (productKey: string, instanceId: string, prefix?: string): Promise<DeviceCounts> {
    const count = (index: string): number => this.indexed(productKey, index).filter(d => inRange(d.deviceName, { prefix })).length
    const counts = { total: count(atIndex(instanceId)) } as DeviceCounts
    for (const status of DEVICE_STATUSES) counts[status] = count(atIndex(instanceId, status))
    return counts
  }

  async countMarked (productKey: string, instanceId: string, mark: Mark): Promise<number> {
    return this.indexed(productKey, markIndex(mark, instanceId)).length
  }

  async deleteDevice (productKey: string, deviceName: string): Promise<void> {
    this.devices.delete(deviceKey(productKey, deviceName))
    this.names.get(productKey)?.delete(deviceName)
    this.events.delete(deviceKey(productKey, deviceName))
  }

  async appendDeviceEvents (entries: DeviceEventEntry[]): Promise<void> {
    for (const { productKey, deviceName, event } of entries) this.pushEvent(productKey, deviceName, event)
  }

  /** One event at the head of the device's log, the oldest beyond the cap dropped. */
  private pushEvent (productKey: string, deviceName: string, event: DeviceEvent): void {
    const keep = this.options.deviceEventsKept ?? DEVICE_EVENTS_KEPT
    const key = deviceKey(productKey, deviceName)
    const log = this.events.get(key) ?? []
    log.unshift(copy(event))
    if (log.length > keep) log.length = keep
    this.events.set(key, log)
  }

  async deviceEvents (productKey: string, deviceName: string, limit: number): Promise<DeviceEvent[]> {
    return (this.events.get(deviceKey(productKey, deviceName)) ?? []).slice(0, Math.max(0, limit)).map(copy)
  }

  /** As the Redis store's: `event` goes to the device's timeline only when the transition writes the record. */
  private apply<O> (productKey: string, deviceName: string, change: (d: Device) => t.Transition<O>, event?: DeviceEvent): O | null {
    const key = deviceKey(productKey, deviceName)
    const device = this.devices.get(key)
    if (!device) return null
    const { next, outcome } = change(copy(device))
    if (next) {
      this.devices.set(key, copy(next))
      if (event !== undefined) this.pushEvent(productKey, deviceName, event)
    }
    return copy(outcome)
  }

  async setTags (productKey: string, deviceName: string, tags: Record<string, string>): Promise<Device | null> {
    return this.apply(productKey, deviceName, d => t.tagged(d, tags))
  }

  async disableDevice (productKey: string, deviceName: string, instanceId: string): Promise<EnabledOutcome> {
    return this.apply(productKey, deviceName, d => t.disabled(d, instanceId)) ?? { result: 'not-found' }
  }

  async enableDevice (productKey: string, deviceName: string, instanceId: string): Promise<EnabledOutcome> {
    return this.apply(productKey, deviceName, d => t.enabled(d, instanceId)) ?? { result: 'not-found' }
  }

  async connected (...[pk, dn, info]: Parameters<Store['connected']>): ReturnType<Store['connected']> {
    return this.apply(pk, dn, d => t.connected(d, info), info.event) ?? { result: 'not-found' }
  }

  async disconnected (...[pk, dn, session, at, event]: Parameters<Store['disconnected']>): ReturnType<Store['disconnected']> {
    return this.apply(pk, dn, d => t.disconnected(d, session, at), event) ?? false
  }

  async setProperties (productKey: string, deviceName: string, instanceId: string, payload: string): Promise<void> {
    this.apply(productKey, deviceName, d => t.propertiesPosted(d, instanceId, payload))
  }

  async moveDevice (...[pk, dn, move]: Parameters<Store['moveDevice']>): ReturnType<Store['moveDevice']> {
    return this.apply(pk, dn, d => t.moved(d, move)) ?? { result: 'not-found' }
  }

  async moveDevices (...[pk, names, move]: Parameters<Store['moveDevices']>): ReturnType<Store['moveDevices']> {
    return Promise.all(names.map(dn => this.moveDevice(pk, dn, move)))
  }

  async setCandidates (...[pk, dn, move]: Parameters<Store['setCandidates']>): ReturnType<Store['setCandidates']> {
    return this.apply(pk, dn, d => t.awaitingPlacement(d, move)) ?? { result: 'not-found' }
  }

  async place (...[pk, dn, placement]: Parameters<Store['place']>): ReturnType<Store['place']> {
    return this.apply(pk, dn, d => t.placed(d, placement)) ?? { result: 'not-found' }
  }

  async publishMove (event: MoveEvent): Promise<void> {
    const log = this.logs.get(event.fromInstanceId) ?? []
    log.push(copy(event))
    this.logs.set(event.fromInstanceId, log)
    for (const [key, consumer] of this.consumers) {
      if (key.startsWith(`${event.fromInstanceId}\n`)) void this.drain(event.fromInstanceId, consumer)
    }
  }

  async publishMoves (events: MoveEvent[]): Promise<void> {
    for (const event of events) await this.publishMove(event)
  }

  async consumeMoves (instanceId: string, consumerId: string, handler: (event: MoveEvent) => Promise<void>): Promise<MoveSubscription> {
    return await this.consumeMoveBatches(instanceId, consumerId, oneByOne(handler))
  }

  async consumeMoveBatches (instanceId: string, consumerId: string, handler: (events: MoveEvent[]) => Promise<void>): Promise<MoveSubscription> {
    const key = `${instanceId}\n${consumerId}`
    const consumer = this.consumers.get(key) ?? { cursor: this.logs.get(instanceId)?.length ?? 0, handler: null, running: false }
    consumer.handler = handler
    this.consumers.set(key, consumer)
    void this.drain(instanceId, consumer)
    return { consuming: () => true, close: async () => { consumer.handler = null } }
  }

  /** Hands the consumer everything published since its cursor, a batch at a time. */
  private async drain (instanceId: string, consumer: Consumer): Promise<void> {
    if (consumer.running) return
    consumer.running = true
    try {
      const log = this.logs.get(instanceId) ?? []
      while (consumer.handler && consumer.cursor < log.length) {
        const batch = log.slice(consumer.cursor, consumer.cursor + MOVE_BATCH).map(copy)
        try {
          await consumer.handler(batch)
        } catch {}
        consumer.cursor += batch.length
      }
    } finally {
      consumer.running = false
    }
  }

  async createJob (job: Job): Promise<void> {
    this.jobs.set(job.id, copy(job))
  }

  async getJob (id: string): Promise<Job | null> {
    const job = this.jobs.get(id)
    return job ? copy(job) : null
  }

  async updateJob (job: Job): Promise<void> {
    this.jobs.set(job.id, copy(job))
  }

  async listJobs (filter: JobFilter): Promise<{ jobs: Job[], total: number }> {
    const all = [...this.jobs.values()]
      .filter(j => j.accountId === filter.accountId &&
        (filter.status === undefined || j.status === filter.status) &&
        (filter.productKey === undefined || j.productKey === filter.productKey))
      .sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id))
    return { jobs: all.slice(filter.offset, filter.offset + filter.limit).map(copy), total: all.length }
  }

  async unfinishedJobs (): Promise<string[]> {
    return [...this.jobs.values()].filter(j => j.status === 'initializing' || j.status === 'distributing').map(j => j.id)
  }

  async leaseJob (id: string, owner: string, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(id)
    const now = Date.now()
    if (lease && lease.owner !== owner && lease.until > now) return false
    this.leases.set(id, { owner, until: now + ttlMs })
    return true
  }

  async releaseJob (id: string, owner: string): Promise<void> {
    if (this.leases.get(id)?.owner === owner) this.leases.delete(id)
  }

  async putRecords (jobId: string, records: JobRecord[]): Promise<void> {
    const map = this.records.get(jobId) ?? new Map<string, JobRecord>()
    // Stored as the Redis backend stores it: the stage without the marks kept beside it.
    for (const r of records) {
      const stored = readRecord(storedRecord(r))
      if (stored !== null) map.set(deviceKey(r.productKey, r.deviceName), stored)
    }
    this.records.set(jobId, map)
  }

  async getRecords (jobId: string): Promise<JobRecord[]> {
    const records = [...(this.records.get(jobId)?.values() ?? [])].map(copy)
    return withAnnouncements(withPlacementNotes(records, this.placementNotes.get(jobId) ?? new Map()), this.announced.get(jobId) ?? new Set())
  }

  async markAnnounced (jobId: string, devices: Array<{ productKey: string, deviceName: string }>): Promise<void> {
    if (devices.length === 0) return
    const marks = this.announced.get(jobId) ?? new Set<string>()
    for (const d of devices) marks.add(placementNoteKey(d.productKey, d.deviceName))
    this.announced.set(jobId, marks)
  }

  async notePlacement (jobId: string, productKey: string, deviceName: string, note: string): Promise<void> {
    const notes = this.placementNotes.get(jobId) ?? new Map<string, string>()
    notes.set(placementNoteKey(productKey, deviceName), note)
    this.placementNotes.set(jobId, notes)
  }

  /** Valid codes of the pair; expired ones are dropped. */
  private pending (pair: CodePair, now: number): VerificationCode[] {
    const out: VerificationCode[] = []
    for (const [id, code] of this.codes) {
      if (!isValid(code, now)) this.codes.delete(id)
      else if (samePair(code, pair)) out.push(code)
    }
    return out
  }

  private lockedUntil (pair: CodePair, now: number): number | null {
    const until = this.codeLocks.get(pairKey(pair))
    return until !== undefined && until > now ? until : null
  }

  async issueCode (code: VerificationCode, limits: { now: number, maxPending: number }): Promise<IssueCodeOutcome> {
    const until = this.lockedUntil(code, limits.now)
    if (until !== null) return { result: 'locked', until }
    const pending = this.pending(code, limits.now)
    if (pending.length >= limits.maxPending) return { result: 'too-many', retryAt: Math.min(...pending.map(c => c.expiresAt)) }
    this.codes.set(code.id, copy(code))
    return { result: 'issued' }
  }

  async codesFor (targetAccountId: string, now: number): Promise<VerificationCode[]> {
    return [...this.codes.values()].filter(c => c.targetAccountId === targetAccountId && isValid(c, now)).sort(byAge).map(copy)
  }

  async checkCode (pair: CodePair, presented: string, check: CodeCheck): Promise<CheckCodeOutcome> {
    const key = pairKey(pair)
    const locked = this.lockedUntil(pair, check.now)
    if (locked !== null) return { result: 'locked', until: locked }
    // The try is counted before the comparison (as the Redis backend does).
    const before = this.codeFailures.get(key)
    const tries = before === undefined || check.now - before.first > check.failureWindowMs ? { count: 0, first: check.now } : before
    tries.count++
    this.codeFailures.set(key, tries)
    const match = matching(this.pending(pair, check.now), presented)
    if (match !== null) {
      this.codes.delete(match.id)
      this.codeFailures.delete(key)
      return { result: 'accepted' }
    }
    if (tries.count < check.maxFailures) return { result: 'refused', failures: tries.count, voided: false }
    for (const code of this.pending(pair, check.now)) this.codes.delete(code.id)
    this.codeFailures.delete(key)
    const until = check.now + check.lockMs
    this.codeLocks.set(key, until)
    return { result: 'refused', failures: tries.count, voided: true, until }
  }

  async recordConnectionSamples (instanceId: string, nodeId: string, samples: ConnectionSample[], keepMs: number): Promise<void> {
    if (samples.length === 0) return
    const nodes = this.connectionSamples.get(instanceId) ?? new Map<string, ConnectionSample[]>()
    // A sample written twice (a retried write) is kept once, as in the Redis backend's sorted set.
    const byReading = new Map([...(nodes.get(nodeId) ?? []), ...samples].map(s => [`${s.at}:${s.connections}`, copy(s)]))
    const kept = [...byReading.values()].sort((a, b) => a.at - b.at)
    const cutoff = (kept.at(-1)?.at ?? 0) - keepMs
    nodes.set(nodeId, kept.filter(s => s.at >= cutoff))
    for (const [id, list] of nodes) if ((list.at(-1)?.at ?? 0) < cutoff) nodes.delete(id)
    this.connectionSamples.set(instanceId, nodes)
  }

  async connectionHistory (instanceId: string, since: number): Promise<NodeConnections[]> {
    const out: NodeConnections[] = []
    for (const [nodeId, list] of this.connectionSamples.get(instanceId) ?? []) {
      const samples = list.filter(s => s.at >= since).map(copy)
      if (samples.length > 0) out.push({ nodeId, samples })
    }
    return out.sort((a, b) => a.nodeId.localeCompare(b.nodeId))
  }
}
