// The broker's session persistence (broker/session-persistence.ts) answers some clean-session calls
// without Redis; what is stored must still behave across the nodes of an instance: persistent
// sessions with QoS 1 subscriptions and their offline messages, a clean session ending one made on
// another node, wills, and QoS 2 publishes.
import t from 'tap'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { startBrokerNode, type BrokerNode } from '../broker/node.js'
import { brokerConfig, connect, credentials, makeDevices, nextMessage, type Credentials } from './helpers/broker.js'
import { monitorRedis } from './helpers/redis-monitor.js'
import { openTestRegistry } from './helpers/registry.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'sessions')
const config = brokerConfig(keyPrefix)
const a1 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'sessions-a1' })
const a2 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'sessions-a2' })
t.teardown(async () => {
  for (const node of [a1, a2]) await node.close()
})
const [d1, d2, d3, d4, d5, d6] = await makeDevices(store, 'pkS', ['dev1', 'dev2', 'dev3', 'dev4', 'dev5', 'dev6'], 'a')
/** The cluster parts' namespace: every key and channel of the persistence and the emitter. */
const namespace = `${keyPrefix}aedes:a:`

const publish = (node: BrokerNode, topic: string, payload: string, qos: 0 | 1 = 1) =>
  new Promise<void>((resolve, reject) => node.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false }, err => err ? reject(err) : resolve()))

/** Resolves once `node` routes `topic` to the stored subscription of `clientId` (learnt from the other node's broadcast). */
async function knowsSubscription (node: BrokerNode, topic: string, clientId: string): Promise<void> {
  const { persistence } = node.aedes as unknown as { persistence: { subscriptionsByTopic: (topic: string) => Promise<{ clientId: string }[]> } }
  await eventually(async () => (await persistence.subscriptionsByTopic(topic)).some(s => s.clientId === clientId), `${topic} of ${clientId} known to the other node`)
}

/** Connects; `before` runs before the CONNECT goes out (to listen for what comes right after CONNACK). */
async function session (port: number, creds: Credentials, options: IClientOptions, before: (client: MqttClient) => void = () => {}): Promise<{ client: MqttClient, present: boolean }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, connectTimeout: 5000, ...creds, ...options })
  before(client)
  const connack = await within(WAIT_MS, new Promise<{ sessionPresent?: boolean }>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  }), 'CONNACK')
  return { client, present: connack.sessionPresent === true }
}

t.test('a persistent session made on one node resumes on another, with the QoS 1 message sent while it was away', async t => {
  const creds = credentials(d1!)
  const topic = '/pkS/dev1/user/cmd'
  const first = await session(a1.ports.mqtt, creds, { clean: false })
  t.equal(first.present, false, 'a new session')
  await first.client.subscribeAsync(topic, { qos: 1 })
  await first.client.endAsync()
  await knowsSubscription(a2, topic, creds.clientId)

  await publish(a2, topic, 'while away')
  let got!: Promise<Buffer>
  const again = await session(a2.ports.mqtt, creds, { clean: false }, client => { got = nextMessage(client, topic) })
  t.teardown(() => again.client.endAsync())
  t.equal(again.present, true, 'CONNACK says the session was present')
  t.equal((await within(WAIT_MS, got, 'the message queued while the device was away')).toString(), 'while away')
})

t.test('a clean CONNECT on one node ends the persistent session made on another', async t => {
  const creds = credentials(d2!)
  const topic = '/pkS/dev2/user/cmd'
  const persistent = await session(a1.ports.mqtt, creds, { clean: false })
  await persistent.client.subscribeAsync(topic, { qos: 1 })
  await persistent.client.endAsync()
  await knowsSubscription(a2, topic, creds.clientId)

  const clean = await session(a2.ports.mqtt, creds, { clean: true })
  t.equal(clean.present, false)
  await clean.client.endAsync()
  const back = await session(a1.ports.mqtt, creds, { clean: false })
  t.teardown(() => back.client.endAsync())
  t.equal(back.present, false, 'no session left to resume: the clean CONNECT removed it')
})

t.test('a will stored on one node is published to a subscriber on another when the device goes away', async t => {
  const topic = '/pkS/dev3/user/will'
  let delivered!: Promise<string>
  await within(WAIT_MS, new Promise<void>(subscribed => { // eslint-disable-line promise/param-names
    delivered = new Promise<string>(resolve => a2.aedes.subscribe(topic, (packet, done) => { resolve(packet.payload.toString()); done() }, subscribed))
  }), "a2's subscription to be in place")
  const device = await connect(a1.ports.mqtt, credentials(d3!), { clean: true, will: { topic, payload: Buffer.from('gone'), qos: 1, retain: false } })
  device.stream.destroy()
  t.equal(await within(WAIT_MS, delivered, 'the will on a2'), 'gone')
})

t.test('a QoS 2 publish of a clean session reaches a subscriber on the other node once', async t => {
  const topic = '/pkS/dev4/user/up'
  const received: string[] = []
  await within(WAIT_MS, new Promise<void>(subscribed => { // eslint-disable-line promise/param-names
    a2.aedes.subscribe(topic, (packet, done) => { received.push(packet.payload.toString()); done() }, subscribed)
  }), "a2's subscription to be in place")
  const device = await connect(a1.ports.mqtt, credentials(d4!), { clean: true })
  t.teardown(() => device.endAsync())
  await device.publishAsync(topic, 'exactly once', { qos: 2 })
  await eventually(() => received.length > 0, 'the QoS 2 message on a2')
  t.same(received, ['exactly once'])
})

t.test('clean sessions come and go on both nodes without a stored session', async t => {
  const creds = credentials(d5!)
  for (const node of [a1, a2, a1]) {
    const device = await session(node.ports.mqtt, creds, { clean: true })
    t.equal(device.present, false)
    await device.client.endAsync()
  }
  const persistent = await session(a2.ports.mqtt, creds, { clean: false })
  t.teardown(() => persistent.client.endAsync())
  t.equal(persistent.present, false, 'nothing was stored for the clean sessions')
})

t.test('a clean CONNECT with no stored subscription does not read an offline queue; a persistent one does', async t => {
  const { commands, mark } = await monitorRedis(t, keyPrefix)
  const creds = credentials(d6!)
  const queue = `LRANGE ${namespace}outgoing:${encodeURIComponent(creds.clientId)}`

  const persistent = await session(a1.ports.mqtt, creds, { clean: false })
  await eventually(() => commands.some(c => c.toUpperCase().startsWith(queue.toUpperCase())), 'the persistent session to read its offline queue')
  await persistent.client.endAsync()
  const from = await mark('before')

  // A round trip on the connection after its CONNACK, then a command the monitor sees after it.
  const clean = await session(a2.ports.mqtt, creds, { clean: true })
  const topic = '/pkS/dev6/user/echo'
  await clean.client.subscribeAsync(topic, { qos: 1 })
  const echo = nextMessage(clean.client, topic)
  await clean.client.publishAsync(topic, 'echo', { qos: 1 })
  await within(WAIT_MS, echo, 'the echo')
  await clean.client.endAsync()
  const to = await mark('after')
  t.same(commands.slice(from, to).filter(c => c.toUpperCase().startsWith(queue.toUpperCase())), [], 'no offline queue read for the clean session')
})
