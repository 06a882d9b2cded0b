import type { Config } from '../config.js'
import { MemoryStore } from './memory.js'
import { openRedisStore } from './redis.js'
import type { Store } from './store.js'

export type { Store } from './store.js'
export { StoreRefusedError, StoreUnavailableError } from './store.js'

/** Redis when the config names one, else the in-process memory store (only for `homing up`). */
export async function openStore (config: Pick<Config, 'redis' | 'keyPrefix'> & { limits?: Pick<Config['limits'], 'deviceEvents'> },
  options: { autoPipelining?: boolean } = {}): Promise<Store> {
  const deviceEventsKept = config.limits?.deviceEvents
  if (config.redis === undefined) return new MemoryStore({ deviceEventsKept })
  return openRedisStore({ redis: config.redis, keyPrefix: config.keyPrefix, deviceEventsKept, ...options })
}
