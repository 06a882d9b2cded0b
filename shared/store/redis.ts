// The Redis backend: a database, not a cache. Every key that one atomic step touches shares a hash
// tag (`{pk#bucket}` for a device and its index entries), so the layout works on Redis Cluster too.
import { createHash } from 'node:crypto'
import { ReplyError, type ChainableCommander, type RedisOptions } from 'ioredis'
import type { RedisTarget } from '../config.js'
import { DEVICE_EVENTS_KEPT, type DeviceEvent, type DeviceEventEntry } from '../device-events.js'
import { describeRedis, isCluster, redisClient, type RedisClient } from '../redis-client.js'
import type { Device, Job, JobRecord, MoveEvent, Product, VerificationCode } from '../types.js'
import { byAge, isValid, matching } from './codes.js'
import { placementNoteKey, withAnnouncements, withPlacementNotes } from './placement-notes.js'
import { readRecord, storedRecord } from './record-form.js'
import { deviceEventsKey, deviceKey, indexKey } from './device-keys.js'
import { ALL_BUCKETS, DEVICE_STATUSES, PREFIX_END, atIndex, bucketOf, indexDelta, indexEntries, markIndex, queryIndex, type IndexName, type Mark } from './indexes.js'
import { pipelined } from './slots.js'
import { StoreRefusedError, StoreUnavailableError, type MoveOutcome, type CheckCodeOutcome, type ConnectionSample, type NodeConnections, type DeviceCounts, type DevicePage, type DeviceQuery, type EnabledOutcome, type CodeCheck, type CodePair, type IssueCodeOutcome, type JobFilter, type MoveReadError, type MoveSubscription, type Store, oneByOne } from './store.js'
import * as t from './transitions.js'

const CLUSTER_MOVING = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN) /

/**
 * Compare-and-set of a device record and its index entries (shared/store/indexes.ts), in one step.
 * KEYS[1]: the record; KEYS[2..1+ARGV[4]]: index sets to leave; the rest: index sets to join (all of
 * the device's hash tag). ARGV: expected record ('' = must not exist: a create; `sha1:<hex>` = the
 * record whose SHA-1 that is, so the record does not cross the socket twice), next record ('' =
 * delete), the device name, the number of sets to leave. Answers 1 when written, 0 when the record
 * was not the one expected (or, for a create, existed), -1 when it is gone.
 * Optionally a timeline event written with the record (a CONNECT's or a disconnect's: no command of
 * its own): ARGV[5] the event, ARGV[6] the events kept, and the last key the device's timeline (the
 * same hash tag); pushed and trimmed as PUSH_CAPPED does, only when the record is written.
 */
const WRITE = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if cur then return 0 end
else
  if cur == false then return -1 end
  if cur ~= ARGV[1] and 'sha1:' .. redis.sha1hex(cur) ~= ARGV[1] then return 0 end
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
local leave = tonumber(ARGV[4])
local sets = #KEYS
if ARGV[5] then sets = sets - 1 end
for i = 2, leave + 1 do redis.call('ZREM', KEYS[i], ARGV[3]) end
for i = leave + 2, sets do redis.call('ZADD', KEYS[i], 0, ARGV[3]) end
if ARGV[5] then
  redis.call('LPUSH', KEYS[#KEYS], ARGV[5])
  redis.call('LTRIM', KEYS[#KEYS], 0, tonumber(ARGV[6]) - 1)
end
return 1`

/** The CAS's expected value: a record's SHA-1 (40 bytes) in place of the record (about 1 KB). Records are JSON objects, so never start with `sha1:`. */
function expectedForm (raw: string): string {
  return `sha1:${createHash('sha1').update(raw).digest('hex')}`
}

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

/** A device's event log: push the values (oldest first, so the newest ends at the head), keep the first ARGV[1]. */
const PUSH_CAPPED = `
redis.call('LPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
return 1`

interface Commands {
  /** WRITE: (number of keys, ...keys, ...args). */
  homingWrite: (...args: Array<string | number>) => Promise<number>
  homingLease: (key: string, owner: string, ttl: number) => Promise<number>
  homingRelease: (key: string, owner: string) => Promise<number>
  homingCodeTry: (lock: string, failures: string, now: number, windowMs: number, ttlMs: number) => Promise<[number, number]>
}
type HomingRedis = RedisClient & Commands
type CasPipeline = ChainableCommander & {
  homingWrite: (...args: Array<string | number>) => unknown
  homingPushCapped: (key: string, keep: number, ...values: string[]) => unknown
}

export interface RedisStoreOptions {
  /** A server's URL (the single-server form of `redis`). */
  url?: string
  /** Any form of the `redis` config key: URL, Cluster or Sentinel; wins over `url`. */
  redis?: RedisTarget
  keyPrefix: string
  /** Give up on a command after this long (ms): bootstrap answers 503 instead of hanging. */
  commandTimeoutMs?: number
  /** Events kept per device (config `limits.deviceEvents`). */
  deviceEventsKept?: number
  /**
   * ioredis auto-pipelining: the commands issued in one turn of the event loop go out in one socket
   * write. A broker node turns it on (the reads and compare-and-sets of concurrent CONNECTs); it did
   * not lower the sidecar's CPU per request, which leaves it off.
   */
  autoPipelining?: boolean
}

const MAX_EVENTS = 1_000_000
/** Devices created per pipeline round. */
const CREATE_ROUND = 1000
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
    this.redis.defineCommand('homingWrite', { lua: WRITE })
    this.redis.defineCommand('homingLease', { numberOfKeys: 1, lua: LEASE })
    this.redis.defineCommand('homingRelease', { numberOfKeys: 1, lua: RELEASE })
    this.redis.defineCommand('homingCodeTry', { numberOfKeys: 2, lua: CODE_TRY })
    this.redis.defineCommand('homingPushCapped', { numberOfKeys: 1, lua: PUSH_CAPPED })
  }

  private connectionOptions (): RedisOptions {
    return {
      // Fail fast while the registry is down instead of queueing: callers turn that into 503 / CONNACK 3.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.options.commandTimeoutMs ?? 2000,
      retryStrategy: times => Math.min(50 * times, 1000),
      lazyConnect: true,
      enableAutoPipelining: this.options.autoPipelining === true
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
  /** The one key function of a device's record; everything else kept per device derives from it or shares its hash tag. */
  private device (pk: string, dn: string): string { return deviceKey(this.p, pk, dn) }
  private index (pk: string, bucket: number, index: IndexName): string { return indexKey(this.p, pk, bucket, index) }
  /** A device's timeline: its own key under the record's hash tag (so it moves with it between Cluster nodes). */
  private eventLog (pk: string, dn: string): string { return deviceEventsKey(this.p, pk, dn) }
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

  /**
   * The arguments of WRITE for one device: from the record `expected` (null: none yet) to `next`
   * (null: deleted), with the index entries that change between them.
   */
  private writeArgs (pk: string, dn: string, expected: { raw: string, device: Device } | null, next: Device | null, event?: DeviceEvent): Array<string | number> {
    const { remove, add } = indexDelta(expected?.device ?? null, next)
    const bucket = bucketOf(dn)
    const keys = [this.device(pk, dn), ...remove.map(i => this.index(pk, bucket, i)), ...add.map(i => this.index(pk, bucket, i))]
    const args = [expected === null ? '' : expectedForm(expected.raw), next === null ? '' : JSON.stringify(next), dn, remove.length]
    if (event === undefined) return [keys.length, ...keys, ...args]
    return [keys.length + 1, ...keys, this.eventLog(pk, dn), ...args, JSON.stringify(event), this.eventsKept]
  }

  /** Events kept per device (config `limits.deviceEvents`). */
  private get eventsKept (): number { return this.options.deviceEventsKept ?? DEVICE_EVENTS_KEPT }

  async createDevices (devices: Device[]): Promise<string[]> {
    if (devices.length === 0) return []
    return this.run(async () => {
      // Each record with its index entries, in one script per device: a device is listed exactly when it exists.
      // In rounds of CREATE_ROUND, so that no reply waits behind thousands of scripts past the command timeout.
      const results: Array<[Error | null, unknown]> = []
      let failed: Error | null = null
      for (let i = 0; i < devices.length && failed === null; i += CREATE_ROUND) {
        const round = devices.slice(i, i + CREATE_ROUND)
        const replies = await this.batch(round.map(d => this.device(d.productKey, d.deviceName)), (pipe, _key, j) => {
          const d = round[j] as Device
          pipe.homingWrite(...this.writeArgs(d.productKey, d.deviceName, null, d))
        })
        results.push(...replies)
        failed = replies.find(([err]) => err !== null)?.[0] ?? null
      }
      if (failed !== null) {
        // A write refused half-way (memory full): take back every device this call wrote.
        const written = devices.filter((_, i) => results[i]?.[0] == null && results[i]?.[1] === 1)
        await this.batch(written.map(d => this.device(d.productKey, d.deviceName)), (pipe, _key, i) => {
          const d = written[i] as Device
          pipe.homingWrite(...this.writeArgs(d.productKey, d.deviceName, { raw: JSON.stringify(d), device: d }, null))
        }).catch(() => null)
        throw failed
      }
      return devices.filter((_, i) => results[i]?.[1] !== 1).map(d => d.deviceName)
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
    return raws.map(raw => {
      if (raw === null) return null
      const device = JSON.parse(raw) as Device
      this.read.set(device, raw)
      return device
    })
  }

  /**
   * One ZRANGEBYLEX per bucket (pipelined per node) for `offset + limit + 1` names past the cursor,
   * merged in name order; then the page's records. A record that no longer belongs to the index
   * (it moved meanwhile) is left out of the page.
   */
  async listDevices (q: DeviceQuery): Promise<DevicePage> {
    const index = queryIndex(q)
    const offset = q.offset ?? 0
    const want = offset + q.limit + 1
    return this.run(async () => {
      const replies = await this.batch(ALL_BUCKETS.map(b => this.index(q.productKey, b, index)), (pipe, key) =>
        pipe.zrangebylex(key, lexFrom(q), lexTo(q), 'LIMIT', 0, want))
      const merged = replies.flatMap(([err, names]) => {
        if (err !== null) throw err
        return names as string[]
      }).sort(byName)
      const names = merged.slice(offset, offset + q.limit)
      const more = merged.length > offset + q.limit
      const records = await this.getDevices(q.productKey, names)
      const devices = records.filter((d): d is Device => d !== null && indexEntries(d).includes(index))
      return { devices, next: more ? names.at(-1) ?? null : null }
    })
  }

  /** ZLEXCOUNT of the instance's sets in each bucket (O(log n) each), pipelined per node. */
  async countDevices (productKey: string, instanceId: string, prefix?: string): Promise<DeviceCounts> {
    const indexes: Array<keyof DeviceCounts> = ['total', ...DEVICE_STATUSES]
    const keys = indexes.flatMap(name => ALL_BUCKETS.map(b => this.index(productKey, b, atIndex(instanceId, name === 'total' ? undefined : name))))
    const range = { prefix }
    return this.run(async () => {
      const replies = await this.batch(keys, (pipe, key) => pipe.zlexcount(key, lexFrom(range), lexTo(range)))
      const counts = { total: 0, online: 0, offline: 0, inactive: 0, disabled: 0 }
      replies.forEach(([err, n], i) => {
        if (err !== null) throw err
        counts[indexes[Math.floor(i / ALL_BUCKETS.length)] as keyof DeviceCounts] += Number(n)
      })
      return counts
    })
  }

  async countMarked (productKey: string, instanceId: string, mark: Mark): Promise<number> {
    return this.run(async () => {
      const replies = await this.batch(ALL_BUCKETS.map(b => this.index(productKey, b, markIndex(mark, instanceId))), (pipe, key) => pipe.zcard(key))
      return replies.reduce((sum, [err, n]) => {
        if (err !== null) throw err
        return sum + Number(n)
      }, 0)
    })
  }

  async deleteDevice (productKey: string, deviceName: string): Promise<void> {
    const key = this.device(productKey, deviceName)
    await this.run(async () => {
      for (;;) {
        const raw = await this.redis.get(key)
        if (raw === null) break
        const written = await this.redis.homingWrite(...this.writeArgs(productKey, deviceName, { raw, device: JSON.parse(raw) as Device }, null))
        if (written !== 0) break
      }
      await this.redis.del(this.eventLog(productKey, deviceName))
    })
  }

  /** One capped push per device: its events of this call in one command, so each device's log stays in order. */
  async appendDeviceEvents (entries: DeviceEventEntry[]): Promise<void> {
    if (entries.length === 0) return
    const keep = this.eventsKept
    const perDevice = new Map<string, string[]>()
    for (const { productKey, deviceName, event } of entries) {
      const key = this.eventLog(productKey, deviceName)
      const values = perDevice.get(key)
      if (values === undefined) perDevice.set(key, [JSON.stringify(event)])
      else values.push(JSON.stringify(event))
    }
    const keys = [...perDevice.keys()]
    await this.run(async () => {
      const replies = await this.batch(keys, (pipe, key) => pipe.homingPushCapped(key, keep, ...(perDevice.get(key) as string[]).slice(-keep)))
      const failed = replies.find(([err]) => err !== null)
      if (failed?.[0] instanceof Error) throw failed[0]
    })
  }

  async deviceEvents (productKey: string, deviceName: string, limit: number): Promise<DeviceEvent[]> {
    const raws = await this.run(() => this.redis.lrange(this.eventLog(productKey, deviceName), 0, Math.max(0, limit - 1)))
    return raws.flatMap(raw => {
      try {
        return [JSON.parse(raw) as DeviceEvent]
      } catch {
        return []
      }
    })
  }

  /**
   * Read, apply a pure transition, compare-and-set; again if someone wrote in between. `seen`, a
   * record getDevice just returned, stands in for the first read: the CAS still checks it is current.
   * `event` goes to the device's timeline in the script that writes the record: once, and only if
   * the transition writes (a CAS that lost, or an outcome that writes nothing, writes no event).
   */
  private async apply<O> (productKey: string, deviceName: string, change: (d: Device) => t.Transition<O>, seen?: Device, event?: DeviceEvent): Promise<O | null> {
    const key = this.device(productKey, deviceName)
    return this.run(async () => {
      let known = seen === undefined ? undefined : this.read.get(seen)
      for (;;) {
        const raw = known ?? await this.redis.get(key)
        const fresh = known === undefined
        known = undefined
        if (raw === null) return null
        // Parsed once: transitions never change the record they are given. `seen` is that parse already.
        const current = fresh ? JSON.parse(raw) as Device : seen as Device
        const { next, outcome } = change(current)
        // An outcome that writes nothing is only trusted from a fresh read.
        if (next === null && !fresh) continue
        if (next === null) return outcome
        const written = await this.redis.homingWrite(...this.writeArgs(productKey, deviceName, { raw, device: current }, next, event))
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
    return await this.apply(pk, dn, d => t.connected(d, info), seen, info.event) ?? { result: 'not-found' }
  }

  async disconnected (...[pk, dn, session, at, event]: Parameters<Store['disconnected']>): ReturnType<Store['disconnected']> {
    return await this.apply(pk, dn, d => t.disconnected(d, session, at), undefined, event) ?? false
  }

  async setProperties (productKey: string, deviceName: string, instanceId: string, payload: string): Promise<void> {
    await this.apply(productKey, deviceName, d => t.propertiesPosted(d, instanceId, payload))
  }

  async moveDevice (...[pk, dn, move]: Parameters<Store['moveDevice']>): ReturnType<Store['moveDevice']> {
    return await this.apply(pk, dn, d => t.moved(d, move)) ?? { result: 'not-found' }
  }

  /** A batch of reads, the transitions, a batch of compare-and-sets; a device written meanwhile goes the one-by-one way. */
  async moveDevices (...[pk, names, move, seen]: Parameters<Store['moveDevices']>): ReturnType<Store['moveDevices']> {
    if (names.length === 0) return []
    const keys = names.map(dn => this.device(pk, dn))
    return this.run(async () => {
      // Records the caller just read stand in for this batch's read; the rest are read now.
      const known: Array<string | null | undefined> = names.map((_, i) => {
        const device = seen?.[i]
        return device == null ? undefined : this.read.get(device)
      })
      const missing = known.flatMap((raw, i) => raw === undefined ? [i] : [])
      const fresh = new Set(missing)
      const fetched = missing.length === 0 ? [] : await this.getMany(missing.map(i => keys[i] as string))
      missing.forEach((i, m) => { known[i] = fetched[m] ?? null })
      const raws = known as Array<string | null>
      const outcomes: MoveOutcome[] = []
      const writes: number[] = []
      const recheck: number[] = []
      const cas: Array<Array<string | number>> = []
      raws.forEach((raw, i) => {
        if (raw === null) {
          outcomes.push({ result: 'not-found' })
          return
        }
        const device = JSON.parse(raw) as Device
        const { next, outcome } = t.moved(device, move)
        outcomes.push(outcome)
        // An outcome that writes nothing is only trusted from a fresh read.
        if (next === null && !fresh.has(i)) recheck.push(i)
        if (next !== null) {
          cas.push(this.writeArgs(pk, names[i] as string, { raw, device }, next))
          writes.push(i)
        }
      })
      const results = writes.length === 0 ? [] : await this.batch(writes.map(i => keys[i] as string), (pipe, _key, w) => pipe.homingWrite(...(cas[w] as Array<string | number>)))
      await Promise.all(writes.map(async (i, w) => {
        const [err, written] = results[w] ?? [new Error('no reply'), null]
        if (err === null && written === 1) return
        if (err === null && written === -1) outcomes[i] = { result: 'not-found' }
        else outcomes[i] = await this.moveDevice(pk, names[i] as string, move)
      }))
      await Promise.all(recheck.map(async i => { outcomes[i] = await this.moveDevice(pk, names[i] as string, move) }))
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
    const conn = redisClient(this.target, { ...this.connectionOptions(), lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, enableAutoPipelining: false })
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
          // Not waited for: the next read follows it on the same connection, so Redis takes the
          // acknowledgement first, and a connection that failed makes that read fail too.
          conn.xack(key, consumerId, ...entries.map(([id]) => id)).catch(() => {})
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

  // Connections over time: an instance's index of nodes (by their newest sample) and each node's
  // samples (a sorted set by time) share the instance's hash tag, so one transaction writes them.
  private connectionNodes (instanceId: string): string { return `${this.p}connections:{${instanceId}}:nodes` }
  private connectionSamples (instanceId: string, nodeId: string): string { return `${this.p}connections:{${instanceId}}:node:${nodeId}` }

  async recordConnectionSamples (instanceId: string, nodeId: string, samples: ConnectionSample[], keepMs: number): Promise<void> {
    if (samples.length === 0) return
    const key = this.connectionSamples(instanceId, nodeId)
    const nodes = this.connectionNodes(instanceId)
    const newest = Math.max(...samples.map(s => s.at))
    const cutoff = newest - keepMs
    // A silent node's samples go with their key's expiry; its entry in the index, by its score.
    const ttl = Math.max(1, keepMs)
    await this.run(async () => {
      const replies = await this.redis.multi()
        .zadd(key, ...samples.flatMap(s => [s.at, `${s.at}:${s.connections}`]))
        .zremrangebyscore(key, '-inf', `(${cutoff}`)
        .pexpire(key, ttl)
        .zadd(nodes, 'GT', newest, nodeId)
        .zremrangebyscore(nodes, '-inf', `(${cutoff}`)
        .pexpire(nodes, ttl)
        .exec()
      const failed = replies?.find(([err]) => err !== null)?.[0]
      if (failed != null) throw failed
    })
  }

  async connectionHistory (instanceId: string, since: number): Promise<NodeConnections[]> {
    return this.run(async () => {
      const nodeIds = (await this.redis.zrangebyscore(this.connectionNodes(instanceId), since, '+inf')).sort()
      if (nodeIds.length === 0) return []
      const replies = await this.batch(nodeIds.map(id => this.connectionSamples(instanceId, id)), (pipe, key) => pipe.zrangebyscore(key, since, '+inf'))
      return nodeIds.flatMap((nodeId, i) => {
        const [err, members] = replies[i] ?? [new Error('no reply'), null]
        if (err !== null) throw err
        const samples = (members as string[]).flatMap(member => {
          const [at, connections] = member.split(':').map(Number)
          return Number.isFinite(at) && Number.isFinite(connections) ? [{ at: at as number, connections: connections as number }] : []
        })
        return samples.length === 0 ? [] : [{ nodeId, samples }]
      })
    })
  }
}

/** Names are ASCII (shared/device.ts): JavaScript's order is Redis' byte order. */
function byName (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** The lower end of a ZRANGEBYLEX for the query: past `after`, from `prefix`. */
function lexFrom (q: Pick<DeviceQuery, 'after' | 'prefix'>): string {
  if (q.after !== undefined && (q.prefix === undefined || q.after >= q.prefix)) return `(${q.after}`
  return q.prefix === undefined ? '-' : `[${q.prefix}`
}

function lexTo (q: Pick<DeviceQuery, 'prefix'>): string {
  return q.prefix === undefined ? '+' : `(${q.prefix}${PREFIX_END}`
}

export async function openRedisStore (options: RedisStoreOptions): Promise<RedisStore> {
  return new RedisStore(options).open()
}
