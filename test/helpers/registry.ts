// The shared test Redis as a registry under a key prefix of one test's own. When `t` ends the store
// is closed and every key under the prefix removed; tap runs teardowns last-registered first, so
// whatever the test starts on this registry afterwards (and tears down) is stopped before.
import type { Test } from 'tap'
import { openRedisStore, type RedisStore } from '../../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './redis.js'

export interface TestRegistry {
  keyPrefix: string
  store: RedisStore
}

export async function openTestRegistry (t: Test, label: string): Promise<TestRegistry> {
  const keyPrefix = uniquePrefix(label)
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
  t.teardown(async () => {
    await store.close()
    await dropPrefix(keyPrefix)
  })
  return { keyPrefix, store }
}
