// The shared test Redis as a registry under a key prefix of one test file's own; close() closes the
// store and removes every key under the prefix.
import { openRedisStore, type RedisStore } from '../../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './redis.js'

export interface TestRegistry {
  keyPrefix: string
  store: RedisStore
  close: () => Promise<void>
}

export async function openTestRegistry (label: string): Promise<TestRegistry> {
  const keyPrefix = uniquePrefix(label)
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
  const close = async (): Promise<void> => {
    await store.close()
    await dropPrefix(keyPrefix)
  }
  return { keyPrefix, store, close }
}
