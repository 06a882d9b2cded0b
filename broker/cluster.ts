// Several nodes of one instance form a cluster through Redis: mqemitter-redis carries messages (and
// takeover announcements) between them, aedes-persistence-redis keeps sessions and retained messages.
// Many instances, deployments and test runs share one Redis, so both live under one namespace per
// instance: `<keyPrefix>aedes:<instanceId>:` for channels and keys alike.
// broker/session-persistence.ts spares a clean-session CONNECT the persistence calls it does not need;
// Aedes's per-client announcements stay on the node (localAnnouncements below).
// Neither runs on a Redis Cluster under that namespace (docs/configuration.md, "Redis"): with the
// registry on a Cluster they use `broker.redis`, one server or a Sentinel group.
import persistenceRedis from 'aedes-persistence-redis'
import { Redis } from 'ioredis'
import type { Config } from '../shared/config.js'
import { redisClient } from '../shared/redis-client.js'
import mqemitterRedis from 'mqemitter-redis'
import { quitAfterQueued } from './redis-quit.js'
import { sessionPersistence } from './session-persistence.js'
import type { Logger } from '../shared/log.js'
import type { Emitter } from './context.js'

interface PrefixedEmitter extends Emitter {
  close: (done: () => void) => void
  state: { on: (event: 'error', listener: (err: Error) => void) => void }
  /** mqemitter's own emit: delivers to this process's listeners only (mqemitter-redis calls it for what Redis brings). */
  _emit: (packet: { topic: string }, done?: (err?: Error) => void) => void
}

/** mqemitter-redis 7 prefixes every channel it publishes and subscribes with this class (missing from its types). */
const { MQEmitterRedisPrefix } = mqemitterRedis as unknown as {
  MQEmitterRedisPrefix: new (prefix: string, options: { connectionString?: string, subConn?: Redis, pubConn?: Redis, matchEmptyLevels: boolean }) => PrefixedEmitter
}

/**
 * Aedes publishes `$SYS/<broker id>/new/clients` on every CONNECT and `.../disconnect/clients` on
 * every disconnect. Through Redis that is a PUBLISH per connection that every node of the instance
 * reads back and decodes, for one listener: Aedes's `closeSameClients`, which closes a connection
 * with the same client id on another node. Homing closes the older connection of a device itself,
 * across nodes and by device rather than client id, and only when the registry held another
 * connection's mark (broker/takeover.ts); so these two stay on the node that publishes them (its own
 * listeners still get them). Devices cannot publish under `$SYS` (broker/authorize.ts), so every
 * such packet is this node's Aedes's own.
 */
export function isClientAnnouncement (topic: string): boolean {
  return topic.startsWith('$SYS/') && (topic.endsWith('/new/clients') || topic.endsWith('/disconnect/clients'))
}

function localAnnouncements (mq: PrefixedEmitter, namespace: string): void {
  const emit = mq.emit.bind(mq)
  mq.emit = (packet, done) => {
    // The listeners were registered under the namespace (MQEmitterRedisPrefix.on).
    if (isClientAnnouncement(packet.topic)) mq._emit({ ...packet, topic: namespace + packet.topic }, done)
    else emit(packet, done)
  }
}

export interface ClusterBackends {
  mq: PrefixedEmitter
  persistence: ReturnType<typeof persistenceRedis>
  /** After Aedes has closed (it closes the emitter itself). */
  destroy: () => Promise<void>
}

export function clusterNamespace (keyPrefix: string, instanceId: string): string {
  return `${keyPrefix}aedes:${instanceId}:`
}

export type BrokerRedis = NonNullable<Config['broker']['redis']>

/** The Redis of the broker's cluster parts: `broker.redis`, else `redis` when it is one server's URL. */
export function brokerRedisOf (config: Pick<Config, 'redis' | 'broker'>): BrokerRedis | undefined {
  if (config.broker.redis !== undefined) return config.broker.redis
  if (typeof config.redis === 'string') return config.redis
  if (config.redis !== undefined && 'sentinels' in config.redis) return config.redis
  return undefined
}

export function clusterBackends (options: { redis: BrokerRedis, keyPrefix: string, instanceId: string, log: Logger }): ClusterBackends {
  const namespace = clusterNamespace(options.keyPrefix, options.instanceId)
  // Glob characters would turn the namespace into a pattern for the wildcard subscriptions.
  if (/[*?[\]\\]/.test(namespace)) throw new Error(`keyPrefix and instance id must not contain * ? [ ] \\ (got "${namespace}")`)
  // [MQTT-4.7.1-3]: "sport/#" also matches "sport", as Aedes' own emitter does.
  // Auto-pipelining: the commands of the CONNECTs in flight share a socket write (docs/architecture.md,
  // "Broker sessions in Redis"); one connection keeps their order.
  const target = options.redis
  // The emitter quits both at close: after what is queued, and never with an unhandled rejection (redis-quit.ts).
  const subscriber = quitAfterQueued(redisClient(target, {}) as Redis)
  const mq = new MQEmitterRedisPrefix(namespace, { subConn: subscriber, pubConn: quitAfterQueued(redisClient(target, { enableAutoPipelining: true }) as Redis), matchEmptyLevels: true })
  localAnnouncements(mq, namespace)
  mq.state.on('error', err => options.log.warn({ err: err.message }, 'cluster emitter: redis error'))
  const conn = redisClient(target, { keyPrefix: namespace, enableAutoPipelining: true }) as Redis
  conn.on('error', err => options.log.warn({ err: err.message }, 'cluster persistence: redis error'))
  const persistence = sessionPersistence(persistenceRedis({ conn }), { conn, subscriber })
  return {
    mq,
    persistence,
    destroy: async () => {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        persistence.destroy().catch(() => {}),
        new Promise(resolve => { timer = setTimeout(resolve, 2000) })
      ])
      clearTimeout(timer)
      conn.disconnect()
    }
  }
}
