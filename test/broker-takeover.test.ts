// docs/protocol.md, "CONNECT authentication": identity is (productKey, deviceName), not the clientId: a second CONNECT replaces the
// first on every node of the instance.
import type { MqttClient } from 'mqtt'
import t, { type Test } from 'tap'
import { startBrokerNode, type BrokerNode } from '../broker/node.js'
import { brokerConfig, closed, connect, credentials, makeDevices, nextMessage } from './helpers/broker.js'
import { openTestRegistry } from './helpers/registry.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'takeover')
const config = brokerConfig(keyPrefix)
const a1 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'takeover-a1' })
const a2 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'takeover-a2' })
t.teardown(async () => {
  await a1.close()
  await a2.close()
})
const devices = await makeDevices(store, 'pkT', ['dev1', 'dev2', 'dev3', 'dev4', 'race0', 'race1', 'race2', 'race3', 'race4'], 'a')
const cert = (name: string) => devices.find(d => d.deviceName === name)!

const until = eventually
const replaced = (gone: Promise<void>, what = 'the broker to close the replaced connection'): Promise<void> => within(WAIT_MS, gone, what)

async function alive (t: Test, client: MqttClient, topic: string): Promise<void> {
  await client.subscribeAsync(topic)
  const message = nextMessage(client, topic)
  await client.publishAsync(topic, 'ping', { qos: 1 })
  t.equal((await within(WAIT_MS, message, `the newer connection to get its own message on ${topic}`)).toString(), 'ping', 'the newer connection works')
}

const held = (name: string): number => a1.homing.connections.of('pkT', name).length + a2.homing.connections.of('pkT', name).length

/** The registry's online mark names the one connection this instance holds. */
async function markedOnce (t: Test, name: string, node: BrokerNode): Promise<void> {
  await until(() => held(name) === 1, 'one connection held')
  const [session] = node.homing.connections.of('pkT', name)
  await until(async () => (await store.getDevice('pkT', name))?.online?.session === session?.session, 'online mark')
  t.equal((await store.getDevice('pkT', name))?.online?.nodeId, node.nodeId)
}

t.test('on one node, a second CONNECT with another clientId closes the first', async t => {
  const first = await connect(a1.ports.mqtt, credentials(cert('dev1'), { id: 'first-id' }))
  const gone = closed(first)
  const second = await connect(a1.ports.mqtt, credentials(cert('dev1'), { id: 'second-id' }))
  t.teardown(() => second.endAsync())
  await replaced(gone)
  t.pass('the first connection was closed')
  await alive(t, second, '/pkT/dev1/user/a')
  await markedOnce(t, 'dev1', a1)
})

t.test('a reconnect with the very same clientId (Link SDK C fixes its timestamp) replaces the first too', async t => {
  const creds = credentials(cert('dev2'))
  const first = await connect(a1.ports.mqtt, creds)
  const gone = closed(first)
  const second = await connect(a1.ports.mqtt, creds)
  t.teardown(() => second.endAsync())
  await replaced(gone)
  t.pass('the first connection was closed')
  await alive(t, second, '/pkT/dev2/user/a')
  await markedOnce(t, 'dev2', a1)
})

t.test('across two nodes of one instance, the newer connection wins whichever node it reaches', async t => {
  const first = await connect(a1.ports.mqtt, credentials(cert('dev3')))
  const firstGone = closed(first)
  const second = await connect(a2.ports.mqtt, credentials(cert('dev3')))
  await replaced(firstGone, 'the connection on node a1 to be closed by a CONNECT on node a2')
  t.pass('the connection on node a1 was closed by a CONNECT on node a2')
  await alive(t, second, '/pkT/dev3/user/a')
  await markedOnce(t, 'dev3', a2)

  const secondGone = closed(second)
  const third = await connect(a1.ports.mqtt, credentials(cert('dev3')))
  t.teardown(() => third.endAsync())
  await replaced(secondGone, 'the connection on node a2 to be closed by a CONNECT on node a1')
  t.pass('and back: the connection on a2 was closed by a CONNECT on a1')
  await alive(t, third, '/pkT/dev3/user/b')
  await markedOnce(t, 'dev3', a1)
})

t.test('closing the older connection does not mark the device offline', async t => {
  const first = await connect(a2.ports.mqtt, credentials(cert('dev4')))
  const gone = closed(first)
  const second = await connect(a1.ports.mqtt, credentials(cert('dev4')))
  t.teardown(() => second.endAsync())
  await replaced(gone)
  await alive(t, second, '/pkT/dev4/user/a')
  await markedOnce(t, 'dev4', a1)
})

t.test('two CONNECTs racing on two nodes leave exactly one connection', async t => {
  for (let i = 0; i < 5; i++) {
    const name = `race${i}`
    const clients = await Promise.all([
      connect(a1.ports.mqtt, credentials(cert(name))).catch(() => null),
      connect(a2.ports.mqtt, credentials(cert(name))).catch(() => null)
    ])
    await until(() => held(name) <= 1, 'at most one connection held')
    // The survivor is the connection the brokers hold: the other may have had its CONNACK before the
    // takeover closed it, and its client may not have seen the close yet.
    const [kept] = [...a1.homing.connections.of('pkT', name), ...a2.homing.connections.of('pkT', name)]
    const survivor = clients.find(c => c !== null && c.options.clientId === kept?.client.id)
    t.ok(survivor, `${name}: one client still connected`)
    await until(() => clients.filter(c => c?.connected).length === 1, 'the replaced client to see its connection closed')
    // Both announcements were sent before the CONNACKs; a round trip gives the later one time to land.
    if (survivor) await alive(t, survivor, `/pkT/${name}/user/sync`)
    t.equal(held(name), 1, `${name}: one connection held`)
    t.equal(clients.filter(c => c?.connected).length, 1, `${name}: still one client connected`)
    await Promise.all(clients.map(c => c?.endAsync()))
  }
})
