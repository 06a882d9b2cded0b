// docs/protocol.md, "Topics": the topic fences, as a table and over MQTT (SUBACK 0x80; a refused PUBLISH is
// acknowledged and dropped under broker.deniedPublish `ignore`, the default, and closes under `disconnect`).
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { MemoryStore } from '../shared/store/memory.js'
import { allowed } from '../shared/topics.js'
import { brokerConfig, closed, connectDevice, makeDevices, nextMessage, suback } from './helpers/broker.js'
import { within, WAIT_MS } from './helpers/wait.js'

const table: [topic: string, publish: boolean, subscribe: boolean][] = [
  ['/pk/dn/user/update', true, true],
  ['/pk/dn/user/update/error', true, true],
  ['/sys/pk/dn/thing/event/property/post', true, true],
  ['/sys/pk/dn/thing/bootstrap/notify', true, true],
  ['/sys/pk/dn/thing/bootstrap/notify_reply', true, true],
  ['/ota/device/inform/pk/dn', true, true],
  ['/ota/device/upgrade/pk/dn', true, true],
  ['/ota/device/inform/pk/dn/more', false, false],
  ['/shadow/update/pk/dn', true, true],
  ['/shadow/get/pk/dn', true, true],
  ['/ext/session/pk/dn/combine/login_reply', true, true],
  ['/ext/ntp/pk/dn/request', true, true],
  ['/broadcast/pk/news', false, true],
  ['/broadcast/pk/#', false, true],
  ['/broadcast/other/news', false, false],
  ['/pk/dn/#', false, true],
  ['/pk/dn/+/update', false, true],
  ['/sys/pk/dn/thing/#', false, true],
  ['/pk/dn', false, false],
  ['/pk/other/user/update', false, false],
  ['/other/dn/user/update', false, false],
  ['/sys/pk/other/thing/event/property/post', false, false],
  ['/pk/+/user/#', false, false],
  ['/+/dn/user/update', false, false],
  ['#', false, false],
  ['+/pk/dn', false, false],
  ['/pk/dn/a#', false, false],
  ['/pk/dn/#/x', false, false],
  ['/pk/dn/u+', false, false],
  ['/ota/device/+/pk/dn', false, false],
  ['/shadow/#', false, false],
  ['$SYS/homing/takeover', false, false],
  ['$SYS/#', false, false],
  ['pk/dn/user/update', false, false]
]

t.test('allowed(): a device uses only its own subtrees; wildcards only below its own prefix', async t => {
  for (const [topic, publish, subscribe] of table) {
    t.equal(allowed(topic, 'pk', 'dn', 'publish'), publish, `publish ${topic}`)
    t.equal(allowed(topic, 'pk', 'dn', 'subscribe'), subscribe, `subscribe ${topic}`)
  }
})

t.test('over MQTT', async t => {
  const store = new MemoryStore()
  const node = await startBrokerNode({ config: brokerConfig('unused:', { redis: false }), instanceId: 'a', store, nodeId: 'topics' })
  t.teardown(() => node.close())
  const [d1, d2] = await makeDevices(store, 'pkT', ['dev1', 'dev2'], 'a')
  const port = node.ports.mqtt

  t.test('a refused SUBSCRIBE gets 0x80 for that topic only', async t => {
    const client = await connectDevice(port, d1!)
    t.teardown(() => client.endAsync())
    const granted = await within(WAIT_MS, suback(client, {
      '/pkT/dev1/user/#': { qos: 1 },
      '/pkT/dev2/user/#': { qos: 0 },
      '#': { qos: 0 },
      '$SYS/#': { qos: 0 },
      '/sys/pkT/dev1/thing/bootstrap/notify': { qos: 0 },
      '/broadcast/pkT/#': { qos: 0 }
    }), 'a SUBACK')
    t.same(granted, [1, 128, 128, 128, 0, 0])
    t.ok(client.connected, 'still connected')
  })

  t.test('a device receives what it published inside its own subtree', async t => {
    const client = await connectDevice(port, d1!)
    t.teardown(() => client.endAsync())
    await client.subscribeAsync('/pkT/dev1/user/echo')
    const message = nextMessage(client, '/pkT/dev1/user/echo')
    await client.publishAsync('/pkT/dev1/user/echo', 'hello', { qos: 1 })
    t.equal((await within(WAIT_MS, message, 'its own message back')).toString(), 'hello')
  })

  t.test('a PUBLISH outside the fences is acknowledged and dropped (broker.deniedPublish ignore, the default)', async t => {
    const victim = await connectDevice(port, d2!)
    t.teardown(() => victim.end(true))
    await victim.subscribeAsync('/pkT/dev2/user/update')
    const received: string[] = []
    victim.on('message', (_topic, payload) => received.push(payload.toString()))
    const client = await connectDevice(port, d1!)
    t.teardown(() => client.end(true))
    for (const topic of ['/pkT/dev2/user/update', '/broadcast/pkT/x', '$SYS/homing/takeover', 'plain']) {
      await within(WAIT_MS, client.publishAsync(topic, 'intruder', { qos: 1 }), `a PUBACK for the refused PUBLISH to ${topic}`)
      t.ok(client.connected, `still connected after publishing to ${topic}`)
    }
    // Sent after the refused one was acknowledged: had that one been forwarded, it would come first.
    const first = nextMessage(victim, '/pkT/dev2/user/update')
    await victim.publishAsync('/pkT/dev2/user/update', 'own', { qos: 1 })
    await within(WAIT_MS, first, 'the victim to get its own message')
    t.same(received, ['own'], 'the refused PUBLISH reached no one')
  })

  t.test('a device cannot reach another device through the internal takeover topic', async t => {
    const victim = await connectDevice(port, d2!)
    t.teardown(() => victim.endAsync())
    const intruder = await connectDevice(port, d1!)
    t.teardown(() => intruder.end(true))
    await within(WAIT_MS, intruder.publishAsync('$SYS/homing/takeover', JSON.stringify({ productKey: 'pkT', deviceName: 'dev2', session: 'x', nodeId: 'x' }), { qos: 1 }),
      'a PUBACK for the refused PUBLISH to $SYS/homing/takeover')
    // A round trip through the broker proves the victim's connection is still the live one.
    await victim.subscribeAsync('/pkT/dev2/user/ping')
    const message = nextMessage(victim, '/pkT/dev2/user/ping')
    await victim.publishAsync('/pkT/dev2/user/ping', 'still here', { qos: 1 })
    t.equal((await within(WAIT_MS, message, 'the victim to get its own message: its connection was replaced')).toString(), 'still here')
    t.ok(victim.connected)
  })
})

t.test('over MQTT with broker.deniedPublish disconnect', async t => {
  const store = new MemoryStore()
  const node = await startBrokerNode({ config: brokerConfig('unused:', { redis: false, broker: { deniedPublish: 'disconnect' } }), instanceId: 'a', store, nodeId: 'topics-disconnect' })
  t.teardown(() => node.close())
  const [d1] = await makeDevices(store, 'pkT', ['dev1', 'dev2'], 'a')
  for (const topic of ['/pkT/dev2/user/update', '/broadcast/pkT/x', '$SYS/homing/takeover', 'plain']) {
    const client = await connectDevice(node.ports.mqtt, d1!)
    const gone = closed(client)
    client.publish(topic, 'x', { qos: 0 })
    await within(WAIT_MS, gone, `the broker to close the connection after a PUBLISH to ${topic}`).finally(() => client.end(true))
    t.pass(`closed after publishing to ${topic}`)
  }
})
