// The registry on a Redis Cluster of three masters the test starts itself (docs/architecture.md, "Keys and slots").
import t from 'tap'
import { Cluster } from 'ioredis'
import { newDevice } from '../shared/device.js'
import { StoreUnavailableError } from '../shared/store/store.js'
import { openRedisStore } from '../shared/store/redis.js'
import { slotOf } from '../shared/store/slots.js'
import { ownCluster } from './helpers/redis-cluster.js'
import { uniquePrefix } from './helpers/redis.js'
import { storeContract } from './store.contract.js'
import { product } from './helpers/fixtures.js'
import { allDeviceNames } from '../shared/store/device-pages.js'
import { deviceKey, indexKey, legacyDeviceKey } from '../shared/store/device-keys.js'
import { bucketOf } from '../shared/store/indexes.js'
import { reindexRegistry } from '../shared/store/reindex.js'

const cluster = await ownCluster()
t.teardown(() => cluster.remove())
const keyPrefix = uniquePrefix('store-cluster')
const open = async () => openRedisStore({ redis: { cluster: cluster.urls }, keyPrefix })

storeContract('redis cluster', open)

t.test('batches span every master: 300 devices created, read, moved and listed in one call each', async t => {
  const store = await open()
  t.teardown(() => store.close())
  const pk = 'pkSpread'
  const names = Array.from({ length: 300 }, (_, i) => `d${i}`)
  await store.createProduct(product(pk, 'a'))
  t.same(await store.createDevices(names.map(dn => newDevice(pk, dn, 'a'))), [], 'none existed')
  const slots = new Set(names.map(dn => slotOf(deviceKey(keyPrefix, pk, dn))))
  t.equal(slots.size, 16, `the devices sit in one slot per bucket (${slots.size})`)
  const read = await store.getDevices(pk, [...names, 'missing'])
  t.equal(read.filter(d => d !== null).length, 300)
  t.equal(read[300], null)
  t.same(await allDeviceNames(store, pk), [...names].sort())
  const moved = await store.moveDevices(pk, [...names, 'missing'], { from: 'a', to: 'b', jobId: 'j1' })
  t.equal(moved.filter(o => o.result === 'moved').length, 300, 'every device moved')
  t.same(moved[300], { result: 'not-found' })
  t.ok((await store.getDevices(pk, names)).every(d => d?.instanceId === 'b'), 'and the records say so')

  // Every master holds some of them.
  const client = new Cluster(cluster.urls.map(u => ({ host: '127.0.0.1', port: Number(new URL(u).port) })))
  t.teardown(() => client.disconnect())
  await client.ping()
  const perMaster = await Promise.all(client.nodes('master').map(async node => {
    let cursor = '0'
    let count = 0
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${keyPrefix}device:{${pk}#*`, 'COUNT', 1000)
      cursor = next
      count += keys.length
    } while (cursor !== '0')
    return count
  }))
  t.equal(perMaster.length, 3)
  t.ok(perMaster.every(n => n > 0), `devices per master: ${perMaster.join(', ')}`)
})

t.test('homing registry reindex on the Cluster: scans every master, moves old records, repairs indexes', async t => {
  const store = await open()
  t.teardown(() => store.close())
  const client = new Cluster(cluster.urls.map(u => ({ host: '127.0.0.1', port: Number(new URL(u).port) })))
  t.teardown(() => client.disconnect())
  const pk = 'pkReindex'
  const names = Array.from({ length: 60 }, (_, i) => `r${i}`)
  await store.createDevices(names.slice(0, 50).map(dn => newDevice(pk, dn, 'a')))
  for (const dn of names.slice(50)) await client.set(legacyDeviceKey(keyPrefix, pk, dn), JSON.stringify(newDevice(pk, dn, 'a')))
  for (const dn of names.slice(0, 10)) await client.zrem(indexKey(keyPrefix, pk, bucketOf(dn), 'at:a'), dn)
  t.equal((await store.countDevices(pk, 'a')).total, 40, 'before: ten missing, ten of the old layout')
  const report = await reindexRegistry(store, keyPrefix)
  t.equal(report.migrated, 10)
  t.same(await store.countDevices(pk, 'a'), { total: 60, online: 0, offline: 0, inactive: 60, disabled: 0 })
  t.same(await allDeviceNames(store, pk), [...names].sort())
})

t.test('an unreachable cluster is named, quickly, and its password is not', async t => {
  const start = Date.now()
  const err = await openRedisStore({ redis: { cluster: ['redis://127.0.0.1:1', 'redis://127.0.0.1:2'], password: 'hunter2' }, keyPrefix: 'x:' }).then(() => null, (e: unknown) => e)
  t.ok(err instanceof StoreUnavailableError, 'unavailable')
  t.match((err as Error).message, /Redis Cluster 127\.0\.0\.1:1, 127\.0\.0\.1:2/)
  t.notMatch((err as Error).message, /hunter2/)
  t.ok(Date.now() - start < 5000, 'within 5 s')
})
