// The Redis backend: a database, not a cache. Every key that one atomic step touches shares a hash
// tag (`{pk/dn}` for a device), so the layout works on Redis Cluster too.
import { ReplyError, type ChainableCommander, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../config.js'
import { describeRedis, isCluster, redisClient, type RedisClient } from '../redis-client.js'
import type { Device, Job, JobRecord, MoveEvent, Product, VerificationCode } from '../types.js'
import { byAge, isValid, matching } from './codes.js'
import { placementNoteKey, withAnnouncements, withPlacementNotes } from './placement-notes.js'
import { readRecord, storedRecord } from './record-form.js'
import { pipelined } from './slots.js'
import { StoreRefusedError, StoreUnavailableError, type MoveOutcome, type CheckCodeOutcome, type EnabledOutcome, type CodeCheck, type CodePair, type IssueCodeOutcome, type JobFilter, type MoveReadError, type MoveSubscription, type Store, oneByOne } from './store.js'
import * as t from './transitions.js'

const CLUSTER_MOVING = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) /

/** Compare-and-set on one key: the device's whole record is replaced only if nobody changed it meanwhile. */
const CAS = `
local cur = redis.call('GET', KEYS[1])
if cur == false then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`

/** Take or renew a lease held by ARGV[1] for ARGV[2] ms. */
const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/**
 * Counts a verification-code try before it is compared (KEYS: lock, failures; ARGV: now, window ms,
 * ttl ms). Answers {-1, until} while the pair is locked, else {tries in the window, 0}. Failures are
 * kept as "count:first".
 */
const CODE_TRY = `
local lock = tonumber(redis.call('GET', KEYS[1]) or '0')
if lock > tonumber(ARGV[1]) then return {-1, lock} end
local count, first = 0, ARGV[1]
local raw = redis.call('GET', KEYS[2])
if raw then
  local c, f = string.match(raw, '^(%d+):(%d+)$')
  if c and tonumber(ARGV[1]) - tonumber(f) <= tonumber(ARGV[2]) then count, first = tonumber(c), f end
end
count = count + 1
redis.call('SET', KEYS[2], count .. ':' .. first, 'PX', ARGV[3])
return {count, 0}`

interface Commands {
  homingCas: (key: string, expected: string, next: string) => Promise<number>
  homingLease: (key: string, owner: string, ttl: number) => Promise<number>
  homingRelease: (key: string, owner: string) => Promise<number>
  homingCodeTry: (lock: string, failures: string, now: number, windowMs: number, ttlMs: number) => Promise<[number, number]>
}
type HomingRedis = RedisClient & Commands
type CasPipeline = ChainableCommander & { homingCas: (key: string, expected: string, next: string) => unknown }

export interface RedisStoreOptions {
  /** A server's URL (the single-server form of `redis`). */
  url?: string
  /** Any form of the `redis` config key: URL, Cluster or Sentinel; wins over `url`. */
  redis?: RedisTarget
  keyPrefix: string
  /** Give up on a command after this long (ms): bootstrap answers 503 instead of hanging. */
  commandTimeoutMs?: number
}

const MAX_EVENTS = 1_000_000
/** Move events read (and acknowledged) at once by a consumer. */
const MOVE_BATCH = 500

/** Replies of a Redis that is up but will not write: out of memory (noeviction), a replica, a failed snapshot. */
const REFUSAL = /^(OOM|READONLY|MISCONF)\b/

function isRefusal (err: unknown): err is Error {
  return err instanceof ReplyError && REFUSAL.test((err as Error).message)
}

function refused (err: Error): StoreRefusedError {
  return new StoreRefusedError(`registry refuses writes: ${err.message.split('\n')[0] ?? ''}`.trim(), { cause: err })
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const
  readonly redis: HomingRedis
  private readonly p: string
  private readonly subscriptions = new Set<MoveSubscription>()
  /** The raw record behind each Device getDevice returned, for a compare-and-set without a second read. */
  private readonly read = new WeakMap<Device, string>()
  /** Set when a write was refused; readiness then needs a probe write to succeed (ping). */
  private refusing = false

  private readonly target: RedisTarget

  constructor (private readonly options: RedisStoreOptions) {
    this.p = options.keyPrefix
    const target = options.redis ?? options.url
    if (target === undefined) throw new TypeError('RedisStore needs `redis` or `url`')
    this.target = target
    this.redis = redisClient(target, this.connectionOptions()) as HomingRedis
    this.redis.on('error', () => {}) // surfaced per command as StoreUnavailableError
    this.redis.defineCommand('homingCas', { numberOfKeys: 1, lua: CAS })
    this.redis.defineCommand('homingLease', { numberOfKeys: 1, lua: LEASE })
    this.redis.defineCommand('homingRelease', { numberOfKeys: 1, lua: RELEASE })
    this.redis.defineCommand('homingCodeTry', { numberOfKeys: 2, lua: CODE_TRY })
  }

  private connectionOptions (): RedisOptions {
    return {
      // Fail fast while the registry is down instead of queueing: callers turn that into 503 / CONNACK 3.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.options.commandTimeoutMs ?? 2000,
      retryStrategy: times => Math.min(50 * times, 1000),
      lazyConnect: true
    }
  }

  /** Connects, or rejects with StoreUnavailableError. */
  async open (): Promise<this> {
    try {
      await this.redis.connect()
    } catch (err) {
      this.redis.disconnect()
      throw new StoreUnavailableError(`registry unavailable (${describeRedis(this.target)}): ${(err as Error).message}`, { cause: err })
    }
    return this
  }

  /** One command per key, pipelined per node (docs/architecture.md, "Keys and slots"). */
  private async batch (keys: string[], add: (pipe: CasPipeline, key: string, i: number) => void): Promise<Array<[Error | null, unknown]>> {
    return pipelined(this.redis, keys, (pipe, key, i) => add(pipe as CasPipeline, key, i))
  }

  /** GET of many keys: MGET needs one slot, so a batch of GETs. */
  private async getMany (keys: string[]): Promise<(string | null)[]> {
    const replies = await this.batch(keys, (pipe, key) => pipe.get(key))
    return replies.map(([err, raw]) => {
      if (err !== null) throw err
      return typeof raw === 'string' ? raw : null
    })
  }

  // Keys.
  private device (pk: string, dn: string): string { return `${this.p}device:{${pk}/${dn}}` }
  private names (pk: string): string { return `${this.p}names:{${pk}}` }
  private product (pk: string): string { return `${this.p}product:{${pk}}` }
  private productsOf (instanceId: string): string { return `${this.p}products:${instanceId}` }
  private events (instanceId: string): string { return `${this.p}events:${instanceId}` }
  private job (id: string): string { return `${this.p}job:{${id}}` }
  private lease (id: string): string { return `${this.p}job:{${id}}:lease` }
  private records (id: string): string { return `${this.p}job:{${id}}:records` }
  private jobsOf (accountId: string): string { return `${this.p}jobs:${accountId}` }
  private get unfinished (): string { return `${this.p}jobs:unfinished` }
  private placements (id: string): string { return `${this.p}job:{${id}}:placements` }
  private announcedKey (id: string): string { return `${this.p}job:{${id}}:announced` }
  // One pair's codes, tries and lock share a hash tag; the index of senders per destination stands alone.
  private codes (pair: CodePair): string { return `${this.p}codes:{${pair.sourceAccountId}/${pair.targetAccountId}}` }
  private codeFailures (pair: CodePair): string { return `${this.codes(pair)}:failures` }
  private codeLock (pair: CodePair): string { return `${this.codes(pair)}:lock` }
  private codeSenders (targetAccountId: string): string { return `${this.p}codes-to:${targetAccountId}` }

  /**
   * Runs a registry call: a refused write becomes StoreRefusedError (and readiness false until a
   * write works again), connection failures StoreUnavailableError; other reply errors and errors of
   * our own code (a TypeError, a RangeError) stay what they are: bugs, not an unavailable registry.
   */
  private async run<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (isRefusal(err)) {
        this.refusing = true
        throw refused(err)
      }
      // A Cluster failing over or moving slots answers a pipeline's commands MOVED/ASK/CLUSTERDOWN/
      // TRYAGAIN (ioredis redirects single commands, not a pipeline of several slots): the registry is
      // briefly unavailable, callers wait and retry, and the slot map is read again meanwhile.
      if (err instanceof ReplyError && CLUSTER_MOVING.test((err as Error).message)) {
        if (isCluster(this.redis)) this.redis.refreshSlotsCache()
        throw new StoreUnavailableError(`registry unavailable: the cluster is moving slots (${(err as Error).message.split(' ')[0] ?? ''})`, { cause: err })
      }
      if (err instanceof ReplyError || err instanceof StoreUnavailableError) throw err
      if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError) throw err
      throw new StoreUnavailableError(`registry unavailable: ${(err as Error).message}`, { cause: err })
    }
  }

  /** The registry answers; after a refused write, it must also take a small write again (readiness). */
  async ping (): Promise<void> {
    await this.run(() => this.redis.ping())
    if (!this.refusing) return
    await this.run(() => this.redis.set(`${this.p}probe:write`, String(Date.now()), 'PX', 60_000))
    this.refusing = false
  }

  async close (): Promise<void> {
    await Promise.all([...this.subscriptions].map(s => s.close()))
    this.redis.disconnect()
  }

  async createProduct (product: Product): Promise<boolean> {
    return this.run(async () => {
      const key = this.product(product.productKey)
      const created = await this.redis.hsetnx(key, product.instanceId, JSON.stringify(product))
      if (created !== 1) return false
      try {
        await this.redis.sadd(this.productsOf(product.instanceId), product.productKey)
      } catch (err) {
        // Refused half-way: take the record back (deletes are allowed when memory is full).
        await this.redis.hdel(key, product.instanceId).catch(() => {})
        throw err
      }
      return true
    })
  }

  async getProduct (productKey: string, instanceId: string): Promise<Product | null> {
    const raw = await this.run(() => this.redis.hget(this.product(productKey), instanceId))
    return raw === null ? null : JSON.parse(raw) as Product
  }

  async productCopies (productKey: string): Promise<Product[]> {
    const all = await this.run(() => this.redis.hvals(this.product(productKey)))
    return all.map(raw => JSON.parse(raw) as Product)
  }

  async listProducts (instanceId: string): Promise<Product[]> {
    return this.run(async () => {
      const keys = (await this.redis.smembers(this.productsOf(instanceId))).sort()
      if (keys.length === 0) return []
      const results = await this.batch(keys.map(pk => this.product(pk)), (pipe, key) => pipe.hget(key, instanceId))
      return results.flatMap(([, raw]) => typeof raw === 'string' ? [JSON.parse(raw) as Product] : [])
    })
  }

  async updateProduct (product: Product): Promise<void> {
    await this.run(() => this.redis.hset(this.product(product.productKey), product.instanceId, JSON.stringify(product)))
  }

  async deleteProduct (productKey: string, instanceId: string): Promise<void> {
    await this.run(async () => {
      await this.redis.hdel(this.product(productKey), instanceId)
      await this.redis.srem(this.productsOf(instanceId), productKey)
    })
  }

  async createDevices (devices: Device[]): Promise<string[]> {
    if (devices.length === 0) return []
    return this.run(async () => {
      // The name index first: a crash in between leaves a name without a record, which listings skip.
      const indexed = await this.batch(devices.map(d => this.names(d.productKey)), (pipe, key, i) => pipe.sadd(key, (devices[i] as Device).deviceName))
      const added = devices.filter((_, i) => indexed[i]?.[0] == null && indexed[i]?.[1] === 1)
      const results = await this.batch(devices.map(d => this.device(d.productKey, d.deviceName)), (pipe, key, i) => pipe.set(key, JSON.stringify(devices[i]), 'NX'))
      const failed = [...indexed, ...results].find(([err]) => err !== null)?.[0]
      if (failed != null) {
        // A write refused half-way (memory full): take back every record and name this call wrote.
        const written = devices.filter((_, i) => results[i]?.[0] == null && results[i]?.[1] === 'OK')
        await Promise.all([
          this.batch(written.map(d => this.device(d.productKey, d.deviceName)), (pipe, key) => pipe.del(key)),
          this.batch(added.map(d => this.names(d.productKey)), (pipe, key, i) => pipe.srem(key, (added[i] as Device).deviceName))
        ]).catch(() => null)
        throw failed
      }
      return devices.filter((_, i) => results[i]?.[1] !== 'OK').map(d => d.deviceName)
    })
  }

  async getDevice (productKey: string, deviceName: string): Promise<Device | null> {
    const raw = await this.run(() => this.redis.get(this.device(productKey, deviceName)))
    if (raw === null) return null
    const device = JSON.parse(raw) as Device
    this.read.set(device, raw)
    return device
  }

  async getDevices (productKey: string, deviceNames: string[]): Promise<(Device | null)[]> {
    if (deviceNames.length === 0) return []
    const raws = await this.run(() => this.getMany(deviceNames.map(dn => this.device(productKey, dn))))
    return raws.map(raw => raw === null ? null : JSON.parse(raw) as Device)
  }

  async listDeviceNames (productKey: string): Promise<string[]> {
    return this.run(async () => {
      const names = (await this.redis.smembers(this.names(productKey))).sort()
      if (names.length === 0) return []
      const exists = await this.getMany(names.map(dn => this.device(productKey, dn)))
      return names.filter((_, i) => exists[i] !== null)
    })
  }

  async deleteDevice (productKey: string, deviceName: string): Promise<void> {
    await this.run(async () => {
      await this.redis.del(this.device(productKey, deviceName))
      await this.redis.srem(this.names(productKey), deviceName)
    })
  }

  /**
   * Read, apply a pure transition, compare-and-set; again if someone wrote in between. `seen`, a
   * record getDevice just returned, stands in for the first read: the CAS still checks it is current.
   */
  private async apply<O> (productKey: string, deviceName: string, change: (d: Device) => t.Transition<O>, seen?: Device): Promise<O | null> {
    const key = this.device(productKey, deviceName)
    return this.run(async () => {
      let known = seen === undefined ? undefined : this.read.get(seen)
      for (;;) {
        const raw = known ?? await this.redis.get(key)
        const fresh = known === undefined
        known = undefined
        if (raw === null) return null
        const { next, outcome } = change(JSON.parse(raw) as Device)
        // An outcome that writes nothing is only trusted from a fresh read.
        if (next === null && !fresh) continue
        if (next === null) return outcome
        const written = await this.redis.homingCas(key, raw, JSON.stringify(next))
        if (written === 1) return outcome
        if (written === -1) return null
      }
    })
  }

  async setTags (productKey: string, deviceName: string, tags: Record<string, string>): Promise<Device | null> {
    return this.apply(productKey, deviceName, d => t.tagged(d, tags))
  }

  async disableDevice (productKey: string, deviceName: string, instanceId: string): Promise<EnabledOutcome> {
    return await this.apply(productKey, deviceName, d => t.disabled(d, instanceId)) ?? { result: 'not-found' }
  }

  async enableDevice (productKey: string, deviceName: string, instanceId: string): Promise<EnabledOutcome> {
    return await this.apply(productKey, deviceName, d => t.enabled(d, instanceId)) ?? { result: 'not-found' }
  }

  async connected (...[pk, dn, info, seen]: Parameters<Store['connected']>): ReturnType<Store['connected']> {
    return await this.apply(pk, dn, d => t.connected(d, info), seen) ?? { result: 'not-found' }
  }

  async disconnected (productKey: string, deviceName: string, session: string, at: number): Promise<void> {
    await this.apply(productKey, deviceName, d => t.disconnected(d, session, at))
  }

  async setProperties (productKey: string, deviceName: string, instanceId: string, payload: string): Promise<void> {
    await this.apply(productKey, deviceName, d => t.propertiesPosted(d, instanceId, payload))
  }

  async moveDevice (...[pk, dn, move]: Parameters<Store['moveDevice']>): ReturnType<Store['moveDevice']> {
    return await this.apply(pk, dn, d => t.moved(d, move)) ?? { result: 'not-found' }
  }

  /** A batch of reads, the transitions, a batch of compare-and-sets; a device written meanwhile goes the one-by-one way. */
  async moveDevices (...[pk, names, move]: Parameters<Store['moveDevices']>): ReturnType<Store['moveDevices']> {
    if (names.length === 0) return []
    const keys = names.map(dn => this.device(pk, dn))
    return this.run(async () => {
      const raws = await this.getMany(keys)
      const outcomes: MoveOutcome[] = []
      const writes: number[] = []
      const cas: Array<[string, string]> = []
      raws.forEach((raw, i) => {
        if (raw === null) {
          outcomes.push({ result: 'not-found' })
          return
        }
        const { next, outcome } = t.moved(JSON.parse(raw) as Device, move)
        outcomes.push(outcome)
        if (next !== null) {
          cas.push([raw, JSON.stringify(next)])
          writes.push(i)
        }
      })
      if (writes.length === 0) return outcomes
      const results = await this.batch(writes.map(i => keys[i] as string), (pipe, key, w) => pipe.homingCas(key, ...(cas[w] as [string, string])))
      await Promise.all(writes.map(async (i, w) => {
        const [err, written] = results[w] ?? [new Error('no reply'), null]
        if (err === null && written === 1) return
        if (err === null && written === -1) outcomes[i] = { result: 'not-found' }
        else outcomes[i] = await this.moveDevice(pk, names[i] as string, move)
      }))
      return outcomes
    })
  }

  async setCandidates (...[pk, dn, move]: Parameters<Store['setCandidates']>): ReturnType<Store['setCandidates']> {
    return await this.apply(pk, dn, d => t.awaitingPlacement(d, move)) ?? { result: 'not-found' }
  }

  async place (...[pk, dn, placement]: Parameters<Store['place']>): ReturnType<Store['place']> {
    return await this.apply(pk, dn, d => t.placed(d, placement)) ?? { result: 'not-found' }
  }

  async publishMove (event: MoveEvent): Promise<void> {
    await this.run(() => this.redis.xadd(this.events(event.fromInstanceId), 'MAXLEN', '~', MAX_EVENTS, '*', 'event', JSON.stringify(event)))
  }

  async publishMoves (events: MoveEvent[]): Promise<void> {
    if (events.length === 0) return
    await this.run(async () => {
      const replies = await this.batch(events.map(e => this.events(e.fromInstanceId)), (pipe, key, i) => pipe.xadd(key, 'MAXLEN', '~', MAX_EVENTS, '*', 'event', JSON.stringify(events[i])))
      const failed = replies.find(([err]) => err !== null)
      if (failed?.[0] instanceof Error) throw failed[0]
    })
  }

  async moveBacklogs (instanceId: string): Promise<number[]> {
    return await this.run(async () => {
      let groups: unknown[]
      try {
        groups = await this.redis.xinfo('GROUPS', this.events(instanceId)) as unknown[]
      } catch (err) {
        if (err instanceof ReplyError) return [] // no log yet: nobody is behind
        throw err
      }
      return groups.map(group => {
        const fields = group as unknown[]
        const field = (name: string): number => {
          const value = fields[fields.indexOf(name) + 1]
          return typeof value === 'number' ? value : 0 // `lag` is null when Redis cannot tell; pending is what is left then
        }
        return field('lag') + field('pending')
      })
    })
  }

  async consumeMoves (instanceId: string, consumerId: string, handler: (event: MoveEvent) => Promise<void>, onError?: MoveReadError): Promise<MoveSubscription> {
    return await this.consumeMoveBatches(instanceId, consumerId, oneByOne(handler), onError)
  }

  async consumeMoveBatches (instanceId: string, consumerId: string, handler: (events: MoveEvent[]) => Promise<void>, onError?: MoveReadError): Promise<MoveSubscription> {
    const key = this.events(instanceId)
    // A blocking read needs a connection of its own.
    const conn = redisClient(this.target, { ...this.connectionOptions(), lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined })
    conn.on('error', () => {})
    try {
      await conn.xgroup('CREATE', key, consumerId, '$', 'MKSTREAM')
    } catch (err) {
      if (!(err instanceof ReplyError && (err as Error).message.startsWith('BUSYGROUP'))) {
        conn.disconnect()
        throw new StoreUnavailableError(`registry unavailable: ${(err as Error).message}`, { cause: err })
      }
    }
    let open = true
    let consuming = true
    const loop = (async () => {
      // First what was delivered before and not acknowledged (a crash mid-event), then new events.
      let cursor = '0'
      while (open) {
        try {
          const reply = await conn.xreadgroup('GROUP', consumerId, consumerId, 'COUNT', MOVE_BATCH, 'BLOCK', 1000, 'STREAMS', key, cursor) as [string, [string, string[]][]][] | null
          consuming = true
          const entries = reply?.[0]?.[1] ?? []
          if (cursor === '0' && entries.length === 0) cursor = '>'
          if (entries.length === 0) continue
          const events = entries.flatMap(([, fields]) => {
            const raw = fields[fields.indexOf('event') + 1]
            try {
              return raw !== undefined ? [JSON.parse(raw) as MoveEvent] : []
            } catch {
              return [] // not ours to act on; acknowledged with the rest
            }
          })
          if (!open) return
          try {
            await handler(events)
          } catch {}
          await conn.xack(key, consumerId, ...entries.map(([id]) => id))
        } catch (err) {
          if (!open) return
          consuming = false
          cursor = '0'
          // The registry lost its data (or the group): re-create both, from the start of the stream
          // so that events written since the loss are read too. Until it works, reads keep failing.
          const nogroup = err instanceof ReplyError && (err as Error).message.startsWith('NOGROUP')
          const recreated = nogroup && await conn.xgroup('CREATE', key, consumerId, '0', 'MKSTREAM').then(() => true, () => false)
          onError?.(err as Error, nogroup ? 'nogroup' : 'read', recreated)
          await new Promise(resolve => setTimeout(resolve, 200))
        }
      }
    })()
    const subscription: MoveSubscription = {
      consuming: () => consuming,
      close: async () => {
        open = false
        this.subscriptions.delete(subscription)
        conn.disconnect()
        await loop
      }
    }
    this.subscriptions.add(subscription)
    return subscription
  }

  async createJob (job: Job): Promise<void> {
    await this.run(async () => {
      try {
        await this.redis.set(this.job(job.id), JSON.stringify(job))
        await this.redis.zadd(this.jobsOf(job.accountId), job.createdAt, job.id)
        await this.redis.sadd(this.unfinished, job.id)
      } catch (err) {
        // Refused half-way: no job is left that nobody was told about (deletes work when memory is full).
        await Promise.all([
          this.redis.del(this.job(job.id)),
          this.redis.zrem(this.jobsOf(job.accountId), job.id),
          this.redis.srem(this.unfinished, job.id)
        ]).catch(() => {})
        throw err
      }
    })
  }

  async getJob (id: string): Promise<Job | null> {
    const raw = await this.run(() => this.redis.get(this.job(id)))
    return raw === null ? null : JSON.parse(raw) as Job
  }

  async updateJob (job: Job): Promise<void> {
    await this.run(async () => {
      // In the order where a refusal half-way leaves a job the runner still finds: an unfinished job
      // joins the index before its record changes, a finished one leaves it after.
      if (job.status === 'distributed' || job.status === 'failed') {
        await this.redis.set(this.job(job.id), JSON.stringify(job))
        await this.redis.srem(this.unfinished, job.id)
      } else {
        await this.redis.sadd(this.unfinished, job.id)
        await this.redis.set(this.job(job.id), JSON.stringify(job))
      }
    })
  }

  async listJobs (filter: JobFilter): Promise<{ jobs: Job[], total: number }> {
    return this.run(async () => {
      const ids = await this.redis.zrevrange(this.jobsOf(filter.accountId), 0, -1)
      if (ids.length === 0) return { jobs: [], total: 0 }
      const raws = await this.getMany(ids.map(id => this.job(id)))
      const all = raws.flatMap(raw => raw === null ? [] : [JSON.parse(raw) as Job])
        .filter(j => (filter.status === undefined || j.status === filter.status) &&
          (filter.productKey === undefined || j.productKey === filter.productKey))
      return { jobs: all.slice(filter.offset, filter.offset + filter.limit), total: all.length }
    })
  }

  async unfinishedJobs (): Promise<string[]> {
    return this.run(() => this.redis.smembers(this.unfinished))
  }

  async leaseJob (id: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.run(() => this.redis.homingLease(this.lease(id), owner, ttlMs))) === 1
  }

  async releaseJob (id: string, owner: string): Promise<void> {
    await this.run(() => this.redis.homingRelease(this.lease(id), owner))
  }

  async putRecords (jobId: string, records: JobRecord[]): Promise<void> {
    if (records.length === 0) return
    const fields: string[] = []
    for (const r of records) fields.push(`${r.productKey}/${r.deviceName}`, storedRecord(r))
    await this.run(() => this.redis.hset(this.records(jobId), ...fields))
  }

  async getRecords (jobId: string): Promise<JobRecord[]> {
    const [all, notes, announced] = await this.run(() => Promise.all([
      this.redis.hvals(this.records(jobId)),
      this.redis.hgetall(this.placements(jobId)),
      this.redis.smembers(this.announcedKey(jobId))
    ]))
    const records = all.flatMap(raw => readRecord(raw) ?? [])
    return withAnnouncements(withPlacementNotes(records, new Map(Object.entries(notes))), new Set(announced))
  }

  async markAnnounced (jobId: string, devices: Array<{ productKey: string, deviceName: string }>): Promise<void> {
    if (devices.length === 0) return
    await this.run(() => this.redis.sadd(this.announcedKey(jobId), ...devices.map(d => placementNoteKey(d.productKey, d.deviceName))))
  }

  async notePlacement (jobId: string, productKey: string, deviceName: string, note: string): Promise<void> {
    await this.run(() => this.redis.hset(this.placements(jobId), placementNoteKey(productKey, deviceName), note))
  }

  /** The pair's codes still valid at `now`; expired ones are removed on the way. */
  private async pendingCodes (pair: CodePair, now: number): Promise<VerificationCode[]> {
    const key = this.codes(pair)
    const all = Object.values(await this.redis.hgetall(key)).map(raw => JSON.parse(raw) as VerificationCode)
    const expired = all.filter(c => !isValid(c, now)).map(c => c.id)
    if (expired.length > 0) await this.redis.hdel(key, ...expired)
    return all.filter(c => isValid(c, now))
  }

  async issueCode (code: VerificationCode, limits: { now: number, maxPending: number }): Promise<IssueCodeOutcome> {
    return this.run(async () => {
      const until = Number(await this.redis.get(this.codeLock(code)) ?? 0)
      if (until > limits.now) return { result: 'locked', until }
      const pending = await this.pendingCodes(code, limits.now)
      if (pending.length >= limits.maxPending) return { result: 'too-many', retryAt: Math.min(...pending.map(c => c.expiresAt)) }
      const key = this.codes(code)
      // The index first: a code is never stored where the destination's listing would not look.
      await this.redis.sadd(this.codeSenders(code.targetAccountId), code.sourceAccountId)
      const ttl = Math.max(1, Math.max(code.expiresAt, ...pending.map(c => c.expiresAt)) - limits.now)
      await this.redis.multi().hset(key, code.id, JSON.stringify(code)).pexpire(key, ttl).exec()
      return { result: 'issued' }
    })
  }

  async codesFor (targetAccountId: string, now: number): Promise<VerificationCode[]> {
    return this.run(async () => {
      const senders = await this.redis.smembers(this.codeSenders(targetAccountId))
      const lists = await Promise.all(senders.map(sourceAccountId => this.pendingCodes({ sourceAccountId, targetAccountId }, now)))
      return lists.flat().sort(byAge)
    })
  }

  async checkCode (pair: CodePair, presented: string, check: CodeCheck): Promise<CheckCodeOutcome> {
    return this.run(async () => {
      const ttl = Math.max(1, check.failureWindowMs, check.lockMs)
      const [tries, until] = await this.redis.homingCodeTry(this.codeLock(pair), this.codeFailures(pair), check.now, check.failureWindowMs, ttl)
      if (tries === -1) return { result: 'locked', until }
      // Racing guesses that counted past the limit are not compared at all.
      if (tries > check.maxFailures) return { result: 'locked', until: await this.voidCodes(pair, check) }
      const match = matching(await this.pendingCodes(pair, check.now), presented)
      // HDEL answers 1 to one caller only: a code is used once however many requests race for it.
      if (match !== null && await this.redis.hdel(this.codes(pair), match.id) === 1) {
        await this.redis.del(this.codeFailures(pair))
        return { result: 'accepted' }
      }
      if (tries < check.maxFailures) return { result: 'refused', failures: tries, voided: false }
      return { result: 'refused', failures: tries, voided: true, until: await this.voidCodes(pair, check) }
    })
  }

  /** The pair's pending codes are void and it is locked; answers when the lock ends. */
  private async voidCodes (pair: CodePair, check: CodeCheck): Promise<number> {
    const until = check.now + check.lockMs
    await this.redis.multi()
      .del(this.codes(pair), this.codeFailures(pair))
      .set(this.codeLock(pair), String(until), 'PX', Math.max(1, check.lockMs))
      .exec()
    return until
  }
}

export async function openRedisStore (options: RedisStoreOptions): Promise<RedisStore> {
  return new RedisStore(options).open()
}
