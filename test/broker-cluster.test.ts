// Issue 3 point 5: several nodes of one instance form a cluster over Redis; instances sharing the
// same Redis never see each other's messages.
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { brokerConfig, connect, connectDevice, credentials, makeDevices, nextMessage } from './helpers/broker.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'cluster')
const config = brokerConfig(keyPrefix)
const a1 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'cluster-a1' })
const a2 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'cluster-a2' })
const b1 = await startBrokerNode({ config, instanceId: 'b', store, nodeId: 'cluster-b1' })
t.teardown(async () => {
  for (const node of [a1, a2, b1]) await node.close()
})
const [d1, d2] = await makeDevices(store, 'pkC', ['dev1', 'dev2'], 'a')
const [d3] = await makeDevices(store, 'pkC', ['dev3'], 'b')

const publish = (node: typeof a1, topic: string, payload: string, qos: 0 | 1 = 0) =>
  new Promise<void>((resolve, reject) => node.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, err => err ? reject(err) : resolve()))

t.test('the nodes of one instance have distinct Aedes ids', async t => {
  t.not(a1.aedes.id, a2.aedes.id)
})

t.test('a message published on one node reaches a subscriber on another node of the instance', async t => {
  const device = await connectDevice(a1.ports.mqtt, d1!)
  t.teardown(() => device.endAsync())
  await device.subscribeAsync('/pkC/dev1/user/cmd', { qos: 1 })
  const received = nextMessage(device, '/pkC/dev1/user/cmd')
  await publish(a2, '/pkC/dev1/user/cmd', 'from a2', 1)
  t.equal((await within(WAIT_MS, received, 'device to receive a message on /pkC/dev1/user/cmd')).toString(), 'from a2', 'server-side publish on a2 reached the device on a1')

  let upstream!: Promise<string>
  // Resolves once a2's Redis subscription is in place.
  await within(WAIT_MS, new Promise<void>(subscribed => { // eslint-disable-line promise/param-names
    upstream = new Promise<string>(resolve => a2.aedes.subscribe('/pkC/dev1/user/up', (packet, done) => { resolve(packet.payload.toString()); done() }, subscribed))
  }), "a2's subscription to be in place")
  await device.publishAsync('/pkC/dev1/user/up', 'from the device', { qos: 1 })
  t.equal(await within(WAIT_MS, upstream, 'a subscriber on a2 to receive the message the device published on a1'), 'from the device', 'the device on a1 reached a subscriber on a2')
})

t.test('a broadcast reaches devices on every node of the instance and none of another instance', async t => {
  const on1 = await connectDevice(a1.ports.mqtt, d1!)
  const on2 = await connectDevice(a2.ports.mqtt, d2!)
  const atB = await connectDevice(b1.ports.mqtt, d3!)
  t.teardown(() => Promise.all([on1.endAsync(), on2.endAsync(), atB.endAsync()]))
  for (const c of [on1, on2, atB]) await c.subscribeAsync('/broadcast/pkC/#')

  const leaked: string[] = []
  atB.on('message', (_topic, payload) => leaked.push(payload.toString()))
  const got1 = nextMessage(on1, '/broadcast/pkC/news')
  const got2 = nextMessage(on2, '/broadcast/pkC/news')
  await publish(a1, '/broadcast/pkC/news', 'for instance a')
  t.equal((await within(WAIT_MS, got1, 'on1 to receive a message on /broadcast/pkC/news')).toString(), 'for instance a')
  t.equal((await within(WAIT_MS, got2, 'on2 to receive a message on /broadcast/pkC/news')).toString(), 'for instance a')

  // Redis delivers in publish order: once b's own marker arrived, a's message would have come before it.
  const marker = nextMessage(atB, '/broadcast/pkC/marker')
  await publish(b1, '/broadcast/pkC/marker', 'for instance b')
  t.equal((await within(WAIT_MS, marker, 'atB to receive a message on /broadcast/pkC/marker')).toString(), 'for instance b')
  t.same(leaked, ['for instance b'], 'nothing of instance a reached instance b')
})

t.test('the cluster channels and keys live under the instance namespace', async t => {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const channels = await redis.pubsub('CHANNELS', `${keyPrefix}*`) as string[]
  t.ok(channels.some(c => c.startsWith(`${keyPrefix}aedes:a:`)), 'instance a subscribes under its namespace')
  t.ok(channels.some(c => c.startsWith(`${keyPrefix}aedes:b:`)), 'instance b subscribes under its namespace')
  // A persistent session writes through aedes-persistence-redis: under the same namespace.
  const creds = credentials(d1!)
  const device = await connect(a1.ports.mqtt, creds, { clean: false })
  await device.subscribeAsync('/pkC/dev1/user/persisted', { qos: 1 })
  await device.endAsync()
  const sessionKey = `client:${encodeURIComponent(creds.clientId)}`
  t.equal(await redis.exists(`${keyPrefix}aedes:a:${sessionKey}`), 1, 'the session is kept under <keyPrefix>aedes:a:')
  t.equal(await redis.exists(sessionKey), 0, 'not at the top level of the Redis')
})

t.test("Aedes's announcements of each connection and disconnection reach the node's own listeners, not Redis", async t => {
  const { Redis } = await import('ioredis')
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const channels: string[] = []
  redis.on('pmessage', (_pattern: string, channel: string) => channels.push(channel))
  await redis.psubscribe(`${keyPrefix}aedes:a:*`)
  const local: string[] = []
  const listen = (topic: string) => new Promise<void>(resolve => a1.aedes.subscribe(topic, (packet, done) => { local.push(`${packet.topic} ${packet.payload.toString()}`); done() }, () => resolve()))
  await listen('$SYS/+/new/clients')
  await listen('$SYS/+/disconnect/clients')
  const creds = credentials(d2!)
  const device = await connect(a1.ports.mqtt, creds)
  await device.endAsync()
  await eventually(() => local.length === 2, "a1's own listeners to hear the connection and its end")
  t.same(local, [`$SYS/${a1.aedes.id}/new/clients ${creds.clientId}`, `$SYS/${a1.aedes.id}/disconnect/clients ${creds.clientId}`])
  // One connection publishes a node's messages, in order: an announcement sent to Redis would arrive before this.
  const marker = `${keyPrefix}aedes:a:/broadcast/pkC/after-announcements`
  await publish(a1, '/broadcast/pkC/after-announcements', 'marker')
  await eventually(() => channels.includes(marker), 'the marker to come through Redis')
  t.same(channels.filter(c => c.includes('/clients')), [], 'no announcement went through Redis')
})
