import t from 'tap'
import { StoreUnavailableError } from '../shared/store/store.js'
import { openRedisStore, RedisStore } from '../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { storeContract } from './store.contract.js'

const keyPrefix = uniquePrefix('store')
t.teardown(() => dropPrefix(keyPrefix))

storeContract('redis', () => openRedisStore({ url: REDIS_URL, keyPrefix }))

t.test('every key the store writes is under its prefix, device keys carry their bucket\'s hash tag', async t => {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${keyPrefix}device:*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  t.ok(keys.length > 0)
  t.ok(keys.every(k => /device:\{[A-Za-z0-9]+#\d+\}[A-Za-z0-9_@.:-]+$/.test(k)), 'device keys are device:{pk#bucket}dn')
})

t.test('an unreachable registry is reported as unavailable, quickly', async t => {
  const start = Date.now()
  await t.rejects(openRedisStore({ url: 'redis://127.0.0.1:1/0', keyPrefix: 'x:' }), StoreUnavailableError)
  t.ok(Date.now() - start < 5000)
  const store = new RedisStore({ url: 'redis://127.0.0.1:1/0', keyPrefix: 'x:' })
  await t.rejects(store.getDevice('pk', 'dn'), StoreUnavailableError)
  await store.close()
})
