// The memory backend: for `homing up` without `redis`, where every component shares one process.
import type { Device, Job, JobRecord, MoveEvent, Product } from '../types.js'
import type { JobFilter, MoveSubscription, Store } from './store.js'
import * as t from './transitions.js'

const copy = <T>(value: T): T => structuredClone(value)
const deviceKey = (pk: string, dn: string): string => `${pk}/${dn}`

interface Consumer {
  cursor: number
  handler: ((event: MoveEvent) => Promise<void>) | null
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

  async listDeviceNames (productKey: string): Promise<string[]> {
    return [...(this.names.get(productKey) ?? [])].filter(dn => this.devices.has(deviceKey(productKey, dn))).sort()
  }

  async deleteDevice (productKey: string, deviceName: string): Promise<void> {
    this.devices.delete(deviceKey(productKey, deviceName))
    this.names.get(productKey)?.delete(deviceName)
  }

  private apply<O> (productKey: string, deviceName: string, change: (d: Device) => t.Transition<O>): O | null {
    const key = deviceKey(productKey, deviceName)
    const device = this.devices.get(key)
    if (!device) return null
    const { next, outcome } = change(copy(device))
    if (next) this.devices.set(key, copy(next))
    return copy(outcome)
  }

  async setTags (productKey: string, deviceName: string, tags: Record<string, string>): Promise<Device | null> {
    return this.apply(productKey, deviceName, d => t.tagged(d, tags))
  }

  async connected (...[pk, dn, info]: Parameters<Store['connected']>): ReturnType<Store['connected']> {
    return this.apply(pk, dn, d => t.connected(d, info)) ?? { result: 'not-found' }
  }

  async disconnected (productKey: string, deviceName: string, session: string, at: number): Promise<void> {
    this.apply(productKey, deviceName, d => t.disconnected(d, session, at))
  }

  async setProperties (productKey: string, deviceName: string, instanceId: string, payload: string): Promise<void> {
    this.apply(productKey, deviceName, d => t.propertiesPosted(d, instanceId, payload))
  }

  async moveDevice (...[pk, dn, move]: Parameters<Store['moveDevice']>): ReturnType<Store['moveDevice']> {
    return this.apply(pk, dn, d => t.moved(d, move)) ?? { result: 'not-found' }
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

  async consumeMoves (instanceId: string, consumerId: string, handler: (event: MoveEvent) => Promise<void>): Promise<MoveSubscription> {
    const key = `${instanceId}\n${consumerId}`
    const consumer = this.consumers.get(key) ?? { cursor: this.logs.get(instanceId)?.length ?? 0, handler: null, running: false }
    consumer.handler = handler
    this.consumers.set(key, consumer)
    void this.drain(instanceId, consumer)
    return { close: async () => { consumer.handler = null } }
  }

  private async drain (instanceId: string, consumer: Consumer): Promise<void> {
    if (consumer.running) return
    consumer.running = true
    try {
      const log = this.logs.get(instanceId) ?? []
      while (consumer.handler && consumer.cursor < log.length) {
        const event = log[consumer.cursor] as MoveEvent
        try {
          await consumer.handler(copy(event))
        } catch {}
        consumer.cursor++
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
    for (const r of records) map.set(deviceKey(r.productKey, r.deviceName), copy(r))
    this.records.set(jobId, map)
  }

  async getRecords (jobId: string): Promise<JobRecord[]> {
    return [...(this.records.get(jobId)?.values() ?? [])].map(copy)
  }
}
