// One Redis client from the `redis` config key (docs/configuration.md, "Redis"): a server by URL, a
// Redis Cluster by its startup nodes, or a Sentinel group. ioredis does all three.
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisTarget } from './config.js'

export type RedisClient = Redis | Cluster

function hostPort (url: string): { host: string, port: number } {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 6379) }
}

/** Where the target points, for messages: hosts and ports only, never a password. */
export function describeRedis (target: RedisTarget): string {
  if (typeof target === 'string') {
    const u = new URL(target)
    return `${u.protocol}//${u.host}${u.pathname}`
  }
  if ('cluster' in target) return `Redis Cluster ${target.cluster.map(n => new URL(n).host).join(', ')}`
  return `Sentinel group "${target.name}" at ${target.sentinels.map(n => new URL(n).host).join(', ')}`
}

/**
 * A client with `options` (timeouts, queueing, retries). On a Cluster they apply to every node's
 * connection; `retryStrategy` is also the cluster's own reconnect strategy.
 */
export function redisClient (target: RedisTarget, options: RedisOptions): RedisClient {
  if (typeof target === 'string') return new Redis(target, options)
  if ('cluster' in target) {
    const { lazyConnect, enableOfflineQueue, retryStrategy, keyPrefix, ...node } = options
    const tls = target.cluster.some(n => n.startsWith('rediss:')) ? { tls: {} } : {}
    return new Cluster(target.cluster.map(hostPort), {
      lazyConnect,
      enableOfflineQueue,
      keyPrefix,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { ...node, ...tls, username: target.username, password: target.password }
    })
  }
  return new Redis({
    ...options,
    sentinels: target.sentinels.map(hostPort),
    name: target.name,
    username: target.username,
    password: target.password,
    sentinelPassword: target.sentinelPassword
  })
}

export function isCluster (client: RedisClient): client is Cluster {
  return client instanceof Cluster
}
