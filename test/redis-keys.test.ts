// Every key Homing writes is under its key prefix: a Redis of the test's own (nothing else writes to
// it) goes through the whole store contract, a job, and a broker node with a persistent session and a
// retained message; then EVERY key of that Redis is scanned, not only the ones that match a pattern.
import { Redis } from 'ioredis'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { newDevice } from '../shared/device.js'
import { openRedisStore } from '../shared/store/redis.js'
import { brokerConfig, connect, credentials, makeDevices } from './helpers/broker.js'
import { ownRedis } from './helpers/redis-server.js'
import { runnerContract } from './jobs-runner.contract.js'
import { storeContract } from './store.contract.js'
import { eventually } from './helpers/wait.js'

const redis = await ownRedis()
await redis.start()
t.teardown(() => redis.remove())
const keyPrefix = 'homing-keys:'

storeContract('private redis', () => openRedisStore({ url: redis.url, keyPrefix }))
runnerContract('private redis', () => openRedisStore({ url: redis.url, keyPrefix }))

t.test('a broker node with a persistent session and a retained message', async t => {
  const store = await openRedisStore({ url: redis.url, keyPrefix })
  const config = { ...brokerConfig(keyPrefix), redis: redis.url }
  const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'keys-a1' })
  t.teardown(async () => {
    await node.close()
    await store.close()
  })
  const [cert] = await makeDevices(store, 'pkK', ['dev1'], 'a')
  await store.createDevices([newDevice('pkK', 'dev2', 'b')])
  const client = await connect(node.ports.mqtt, credentials(cert!), { clean: false })
  await client.subscribeAsync('/pkK/dev1/user/persisted', { qos: 1 })
  await client.publishAsync('/pkK/dev1/user/retained', 'kept', { qos: 1, retain: true })
  await client.endAsync()
  // The node writes the offline mark (and Aedes its session) after the device leaves: let those
  // writes land before the teardown closes the registry under them.
  await eventually(async () => node.aedes.connectedClients === 0 && (await store.getDevice('pkK', 'dev1'))?.online === null, 'the node to see the device leave and mark it offline')
  t.pass('session, subscription and retained message written')
})

t.test('every key of the Redis is under the prefix; device keys carry their bucket\'s {pk#bucket} hash tag, index keys the same', async t => {
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  t.ok(keys.length > 50, `the run wrote keys (${keys.length})`)
  t.same(keys.filter(k => !k.startsWith(keyPrefix)), [], 'no key outside the prefix')
  t.ok(keys.some(k => k.startsWith(`${keyPrefix}aedes:a:`)), 'the broker\'s keys are there, under <prefix>aedes:<instance>:')
  const devices = keys.filter(k => k.startsWith(`${keyPrefix}device:`))
  t.ok(devices.length > 0)
  t.same(devices.filter(k => !/device:\{[^}#]+#\d+\}[^{}]+$/.test(k)), [], 'device keys are device:{pk#bucket}dn')
  t.same(keys.filter(k => k.startsWith(`${keyPrefix}timeline:`) && !/timeline:\{[^}#]+#\d+\}[^{}]+$/.test(k)), [], 'timelines are timeline:{pk#bucket}dn, beside their device')
  const indexes = keys.filter(k => k.startsWith(`${keyPrefix}ix:`))
  t.ok(indexes.length > 0, 'the device indexes are there')
  t.same(indexes.filter(k => !/^[^{}]*ix:\{[^}#]+#\d+\}:(names|at:[^:]+(:(online|offline|inactive|disabled))?|moved:[^:]+|away:[^:]+)$/.test(k)), [], 'index keys are ix:{pk#bucket}:<index>')
  t.same(keys.filter(k => k.startsWith(`${keyPrefix}names:`)), [], 'no set of names of the layout before buckets')
  const samples = keys.filter(k => k.startsWith(`${keyPrefix}connections:`))
  t.ok(samples.includes(`${keyPrefix}connections:{a}:node:keys-a1`), 'the broker node\'s connection samples are there')
  t.same(samples.filter(k => !/^[^{]*connections:\{[^}]+\}:(nodes|node:.+)$/.test(k)), [], 'connection sample keys carry the instance\'s hash tag')
})
