// aedes-persistence-redis without the Redis work a clean-session CONNECT (what every Link SDK device
// sends) does not need. Everything else is the persistence's own behaviour: a session that is not
// clean, a will, QoS 1/2 subscriptions and offline messages go through unchanged.
// docs/architecture.md, "Broker sessions in Redis" says what is skipped and why; docs/upstream.md has
// the same as a proposal for aedes-persistence-redis.
import type { Redis } from 'ioredis'

/** The part of an Aedes persistence this wrapper looks at (all of it is passed through). */
export interface AedesPersistence {
  setup: (broker: SubscribingBroker) => Promise<void>
}

/** What the wrapper needs of Aedes: the subscription broadcasts every node's persistence sends. */
export interface SubscribingBroker {
  subscribe: (topic: string, deliver: (packet: { payload: Buffer | string }, cb: () => void) => void, done: (err?: Error) => void) => void
}

interface SessionClient {
  id: string
  brokerId?: string
  /** Aedes's Client: whether the CONNECT asked for a clean session. */
  clean?: boolean
}

/** aedes-persistence's broadcast of stored subscriptions (its BroadcastPersistence). */
const SUBSCRIPTIONS_ADDED = '$SYS/sub/add'
/** aedes-persistence-redis's set of client ids with stored subscriptions. */
const CLIENTS_KEY = 'clients'

/**
 * Wraps `inner` (aedes-persistence-redis on `conn`, the same keys). Three calls are answered
 * without Redis when nothing can be stored for them:
 * - `cleanSubscriptions` of a client id no node has stored a subscription for: known from the set
 *   of such ids read at setup and from every node's subscription broadcasts since.
 * - `delWill` of a connecting client: Aedes passes its Client, which has no `brokerId`, so the
 *   persistence addresses `will:undefined:<id>`, a key nothing writes (putWill keys by broker id).
 * - `cleanIncoming` when a clean session ends, if that connection stored no QoS 2 packet: the
 *   CONNECT already cleared what earlier connections left.
 * - `outgoingStream` of a clean session whose `cleanSubscriptions` was answered so: only a session
 *   that is not clean stores subscriptions, and only a stored subscription queues messages for a
 *   client id (removing the last one deletes the queue), so there is no queue to read.
 */
export function sessionPersistence<P extends AedesPersistence> (inner: P, redis: { conn: Redis, subscriber: Redis }): P {
  const { conn, subscriber } = redis
  /** Client id -> how many subscription stores were seen for it (a cleanup forgets it only if none came meanwhile). */
  const stored = new Map<string, number>()
  /** Whether every subscription broadcast since the set was read has been seen. */
  let sure = false
  let listening = false
  /** Clients whose CONNECT cleared their QoS 2 store; those that stored a QoS 2 packet since. */
  const incomingCleared = new WeakSet<object>()
  const incomingStored = new WeakSet<object>()
  /** Clean sessions whose client id had no stored subscription at CONNECT: no offline queue either. */
  const noQueue = new WeakSet<object>()

  const noteStored = (clientId: string): void => { stored.set(clientId, (stored.get(clientId) ?? 0) + 1) }
  /** Bumped each time the subscriber goes away: a read of the set begun before does not make us sure. */
  let losses = 0
  const resync = async (): Promise<void> => {
    const at = losses
    for (const id of await conn.smembers(CLIENTS_KEY)) noteStored(id)
    if (losses === at) sure = true
  }
  // Broadcasts are lost while the emitter's subscriber is away: ask Redis until it is back. A PING
  // on it answers after the subscriptions ioredis restores on reconnecting, so none is missed.
  subscriber.on('close', () => {
    sure = false
    losses++
  })
  subscriber.on('ready', () => {
    if (!listening) return
    subscriber.ping().then(resync).catch(() => {})
  })

  const overrides: Record<string, (...args: never[]) => unknown> = {
    setup: async (broker: SubscribingBroker): Promise<void> => {
      await inner.setup(broker)
      // Listen first, then read the set: a store in between is in one or the other.
      await new Promise<void>((resolve, reject) => {
        broker.subscribe(SUBSCRIPTIONS_ADDED, (packet, cb) => {
          const clientId = readClientId(packet.payload)
          if (clientId !== null) noteStored(clientId)
          cb()
        }, err => { if (err === undefined || err === null) resolve(); else reject(err) })
      })
      listening = true
      await resync()
    },
    addSubscriptions: (client: SessionClient, subs: unknown, ...rest: never[]) => {
      noteStored(client.id)
      return call(inner, 'addSubscriptions', client, subs, ...rest)
    },
    cleanSubscriptions: async (client: SessionClient): Promise<void> => {
      const seen = stored.get(client.id)
      if (sure && seen === undefined) {
        noQueue.add(client)
        return
      }
      await call(inner, 'cleanSubscriptions', client)
      if (stored.get(client.id) === seen) stored.delete(client.id)
    },
    outgoingStream: (client: SessionClient) => {
      if (client.clean === true && noQueue.has(client)) {
        noQueue.delete(client)
        return nothing()
      }
      return callSync(inner, 'outgoingStream', client)
    },
    delWill: async (client: SessionClient): Promise<unknown> => {
      if (client.brokerId === undefined) return null
      return call(inner, 'delWill', client)
    },
    incomingStorePacket: (client: SessionClient, ...rest: never[]) => {
      incomingStored.add(client)
      return call(inner, 'incomingStorePacket', client, ...rest)
    },
    cleanIncoming: async (client: SessionClient): Promise<void> => {
      if (incomingCleared.has(client) && !incomingStored.has(client)) return
      incomingCleared.add(client)
      incomingStored.delete(client)
      await call(inner, 'cleanIncoming', client)
    }
  }

  const bound = new Map<PropertyKey, unknown>()
  const persistence = new Proxy(inner, {
    get (target, prop) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop]
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      let fn = bound.get(prop)
      if (fn === undefined) bound.set(prop, fn = value.bind(target))
      return fn
    }
  })
  return persistence
}

function call (inner: object, method: string, ...args: unknown[]): Promise<unknown> {
  return (inner as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args)
}

function callSync (inner: object, method: string, ...args: unknown[]): unknown {
  return (inner as Record<string, (...a: unknown[]) => unknown>)[method]!(...args)
}

/** An empty stream of queued packets (the persistence's are async iterables). */
async function * nothing (): AsyncGenerator<never> {}

/** `{"clientId": "...", "subs": [...]}`; a payload that is not that is ignored. */
function readClientId (payload: Buffer | string): string | null {
  try {
    const decoded: unknown = JSON.parse(payload.toString())
    const clientId = (decoded as { clientId?: unknown } | null)?.clientId
    return typeof clientId === 'string' ? clientId : null
  } catch {
    return null
  }
}
