// Several nodes of one instance form a cluster through Redis: mqemitter-redis carries messages (and
// takeover announcements) between them, aedes-persistence-redis keeps sessions and retained messages.
// Many instances, deployments and test runs share one Redis, so both live under one namespace per
// instance: `<keyPrefix>aedes:<instanceId>:` for channels and keys alike.
import persistenceRedis from 'aedes-persistence-redis'
import { Redis } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'
import type { Logger } from '../shared/log.js'
import type { Emitter } from './context.js'

interface PrefixedEmitter extends Emitter {
  close: (done: () => void) => void
  state: { on: (event: 'error', listener: (err: Error) => void) => void }
}

/** mqemitter-redis 7 prefixes every channel it publishes and subscribes with this class (missing from its types). */
const { MQEmitterRedisPrefix } = mqemitterRedis as unknown as {
  MQEmitterRedisPrefix: new (prefix: string, options: { connectionString: string, matchEmptyLevels: boolean }) => PrefixedEmitter
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

export function clusterBackends (options: { url: string, keyPrefix: string, instanceId: string, log: Logger }): ClusterBackends {
  const namespace = clusterNamespace(options.keyPrefix, options.instanceId)
  // Glob characters would turn the namespace into a pattern for the wildcard subscriptions.
  if (/[*?[\]\\]/.test(namespace)) throw new Error(`keyPrefix and instance id must not contain * ? [ ] \\ (got "${namespace}")`)
  // [MQTT-4.7.1-3]: "sport/#" also matches "sport", as Aedes' own emitter does.
  const mq = new MQEmitterRedisPrefix(namespace, { connectionString: options.url, matchEmptyLevels: true })
  mq.state.on('error', err => options.log.warn({ err: err.message }, 'cluster emitter: redis error'))
  const conn = new Redis(options.url, { keyPrefix: namespace })
  conn.on('error', err => options.log.warn({ err: err.message }, 'cluster persistence: redis error'))
  const persistence = persistenceRedis({ conn })
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
