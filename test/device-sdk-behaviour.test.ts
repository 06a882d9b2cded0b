// docs/devices.md: devices that run Alibaba's SDKs behave as on Alibaba. Thing-model posts get their
// `_reply` (to the poster only, never for a refused post), the last properties show in the device
// view, a refused PUBLISH is acknowledged and dropped (counted, logged once per connection), each
// accepted CONNECT is logged and counted by SDK and transport, and an MQTT 5 CONNECT is logged.
import { once } from 'node:events'
import { connect as tcpConnect } from 'node:net'
import mqtt, { type MqttClient } from 'mqtt'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { credentials as sdkCredentials } from '../device/credentials.js'
import { Metrics } from '../shared/metrics/metrics.js'
import { MemoryStore } from '../shared/store/memory.js'
import type { Certificate } from '../shared/types.js'
import { connectDevice } from './helpers/broker.js'
import { apiClient, capturingLogger, startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const PK = 'a1sdkdev001'
const INSTANCE = 'iot-sh-1'
const config = testConfig()
const store = new MemoryStore()
const metrics = new Metrics({ defaults: false })
const { log, lines } = capturingLogger()
const node = await startBrokerNode({ config, instanceId: INSTANCE, store, log, metrics, nodeId: 'sdk-node', ports: { mqtt: 0 } })
const sidecar = await startTestSidecar(store, config)
t.teardown(async () => {
  await sidecar.close()
  await node.close()
})
const acme = apiClient(sidecar.url, TOKENS.acme)
await acme('POST', '/products', { instanceId: INSTANCE, name: 'SDK devices', productKey: PK })
const made = await acme('POST', `/products/${PK}/devices`, { instanceId: INSTANCE, deviceNames: ['lamp', 'fan1'] })
if (made.status !== 201) throw new Error(`creating the devices: ${made.status} ${made.text}`)
const [lamp, fan] = made.json.certificates as Certificate[]
const port = node.ports.mqtt

/** Every PUBLISH the broker sends this client, subscribed or not, in order. */
function inbox (client: MqttClient): { topic: string, payload: string }[] {
  const got: { topic: string, payload: string }[] = []
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }))
  return got
}

async function metric (name: string, labels: Record<string, string>): Promise<number> {
  const found = (await metrics.registry.getMetricsAsJSON()).find(m => m.name === name)
  const value = (found?.values ?? []).find(v => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
  return value?.value ?? 0
}

const logged = (): Record<string, unknown>[] => lines.map(l => JSON.parse(l) as Record<string, unknown>)

t.test('a property post gets the platform reply on the _reply topic, without subscribing', async t => {
  const client = await connectDevice(port, lamp!)
  t.teardown(() => client.endAsync())
  const got = inbox(client)
  const before = await metric('homing_mqtt_thing_replies_total', { code: '200' })
  const topic = `/sys/${PK}/lamp/thing/event/property/post`
  await client.publishAsync(topic, JSON.stringify({ id: '123', version: '1.0', params: { LightSwitch: 1 }, method: 'thing.event.property.post' }), { qos: 1 })
  await eventually(() => got.length > 0, 'a reply to the property post')
  t.same(got[0], {
    topic: `${topic}_reply`,
    payload: '{"id":"123","code":200,"data":{},"message":"success","version":"1.0","method":"thing.event.property.post"}'
  })
  t.equal(await metric('homing_mqtt_thing_replies_total', { code: '200' }), before + 1, 'counted')
})

t.test('event and deviceinfo posts are answered with their method; a malformed body gets 460', async t => {
  const client = await connectDevice(port, lamp!)
  t.teardown(() => client.endAsync())
  const got = inbox(client)
  const sys = `/sys/${PK}/lamp/thing`
  const posts: [topic: string, body: string, reply: string][] = [
    [`${sys}/event/alarm/post`, '{"id":"7","version":"1.0","params":{"value":{"level":2},"time":1700000000000},"method":"thing.event.alarm.post"}',
      '{"id":"7","code":200,"data":{},"message":"success","version":"1.0","method":"thing.event.alarm.post"}'],
    [`${sys}/deviceinfo/update`, '{"id":"8","version":"1.0","params":[{"attrKey":"room","attrValue":"hall"}],"method":"thing.deviceinfo.update"}',
      '{"id":"8","code":200,"data":{},"message":"success","version":"1.0","method":"thing.deviceinfo.update"}'],
    [`${sys}/deviceinfo/delete`, '{"id":"9","version":"1.0","params":[{"attrKey":"room"}],"method":"thing.deviceinfo.delete"}',
      '{"id":"9","code":200,"data":{},"message":"success","version":"1.0","method":"thing.deviceinfo.delete"}'],
    [`${sys}/event/property/post`, '{"id":"10","version":"1.0","method":"thing.event.property.post"}',
      '{"id":"10","code":460,"data":{},"message":"request parameter error","version":"1.0","method":"thing.event.property.post"}'],
    [`${sys}/event/property/post`, 'not json {',
      '{"id":"","code":460,"data":{},"message":"request parameter error","version":"1.0","method":"thing.event.property.post"}']
  ]
  for (const [topic, body, reply] of posts) {
    const seen = got.length
    await client.publishAsync(topic, body, { qos: 0 })
    await eventually(() => got.length > seen, `a reply to ${topic} ${body}`)
    t.same(got[seen], { topic: `${topic}_reply`, payload: reply }, `${topic}: ${body}`)
  }
  t.ok(client.connected, 'still connected after the malformed bodies')
})

t.test('a reply goes only to the poster, and never for a post refused by the fences', async t => {
  const poster = await connectDevice(port, lamp!)
  const bystander = await connectDevice(port, fan!)
  t.teardown(async () => { await poster.endAsync(); await bystander.endAsync() })
  const posterGot = inbox(poster)
  const bystanderGot = inbox(bystander)
  // lamp posts on fan's topic: refused (dropped and acknowledged), so nobody is answered.
  await poster.publishAsync(`/sys/${PK}/fan1/thing/event/property/post`, '{"id":"1","version":"1.0","params":{},"method":"thing.event.property.post"}', { qos: 1 })
  await poster.publishAsync(`/sys/${PK}/lamp/thing/event/property/post`, '{"id":"2","version":"1.0","params":{},"method":"thing.event.property.post"}', { qos: 1 })
  await bystander.publishAsync(`/sys/${PK}/fan1/thing/event/property/post`, '{"id":"3","version":"1.0","params":{},"method":"thing.event.property.post"}', { qos: 1 })
  await eventually(() => posterGot.length > 0 && bystanderGot.length > 0, 'a reply for each device\'s own post')
  t.same(posterGot.map(m => JSON.parse(m.payload).id), ['2'], 'the poster got its own reply only, not one for the refused post')
  t.same(bystanderGot.map(m => JSON.parse(m.payload).id), ['3'], 'the other device got only its own')
})

t.test('the last posted properties show in the device view, by instance', async t => {
  const client = await connectDevice(port, fan!)
  t.teardown(() => client.endAsync())
  await client.publishAsync(`/sys/${PK}/fan1/thing/event/property/post`, '{"id":"5","version":"1.0","params":{"Speed":3},"method":"thing.event.property.post"}', { qos: 1 })
  let view: { properties?: Record<string, unknown> } = {}
  await eventually(async () => {
    view = (await acme('GET', `/products/${PK}/devices/fan1`)).json as typeof view
    return JSON.stringify(view.properties) === JSON.stringify({ [INSTANCE]: { Speed: 3 } })
  }, () => `the device view to show the posted properties (shows ${JSON.stringify(view.properties)})`)
  t.pass('shown under the instance')
})

t.test('a refused PUBLISH is acknowledged and dropped, counted, and logged once per connection', async t => {
  const client = await connectDevice(port, lamp!)
  t.teardown(() => client.endAsync())
  const before = await metric('homing_mqtt_denied_publishes_total', { action: 'ignored' })
  const logsBefore = lines.length
  for (let i = 0; i < 3; i++) {
    await within(WAIT_MS, client.publishAsync(`/${PK}/fan1/user/x`, 'x', { qos: 1 }), 'a PUBACK for the refused PUBLISH')
  }
  t.ok(client.connected, 'still connected')
  t.equal(await metric('homing_mqtt_denied_publishes_total', { action: 'ignored' }), before + 3, 'each counted')
  const refusals = logged().slice(logsBefore).filter(l => String(l.msg).startsWith('publish outside the fences'))
  t.equal(refusals.length, 1, 'logged once for this connection')
  t.equal(refusals[0]?.topic, `/${PK}/fan1/user/x`)
})

t.test('an accepted CONNECT is logged at info with how the device connected, and counted by SDK and transport', async t => {
  const before = await metric('homing_mqtt_device_connects_total', { sdk: 'c', transport: 'mqtt' })
  const creds = sdkCredentials(lamp!, { form: 'link-sdk-c' })
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { ...creds, protocolVersion: 4, reconnectPeriod: 0, keepalive: 60 }, false)
  t.teardown(() => client.endAsync())
  const line = logged().reverse().find(l => l.msg === 'device connected' && l.deviceName === 'lamp')
  t.ok(line, 'a "device connected" line')
  t.equal(line?.level, 30, 'at info')
  t.match(line, { productKey: PK, nodeId: 'sdk-node', instanceId: INSTANCE, transport: 'mqtt', secureMode: '3', signMethod: 'hmacsha256', sdk: 'c', sdkVersion: 'sdk-c-4.1.0', address: '127.0.0.1' })
  t.notOk(lines.some(l => l.includes(creds.password)), 'the password is never logged')
  t.equal(await metric('homing_mqtt_device_connects_total', { sdk: 'c', transport: 'mqtt' }), before + 1, 'counted as sdk c over mqtt')
})

t.test('an MQTT 5 CONNECT is refused with return code 1 and a log line naming the address and protocol level', async t => {
  const socket = tcpConnect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  const creds = sdkCredentials(lamp!, { form: 'link-sdk-c' })
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, keepalive: 60, clientId: creds.clientId, username: creds.username, password: Buffer.from(creds.password) }, { protocolVersion: 5 }))
  const [data] = await within(WAIT_MS, once(socket, 'data') as Promise<[Buffer]>, 'a CONNACK to the MQTT 5 CONNECT')
  t.equal(data[0], 0x20, 'a CONNACK')
  t.equal(data[3], 1, 'return code 1: unacceptable protocol version')
  await eventually(() => logged().some(l => l.msg === 'connection refused' && l.protocolLevel === 5), 'a log line for the MQTT 5 refusal')
  const line = logged().find(l => l.msg === 'connection refused' && l.protocolLevel === 5)
  t.match(line, { address: '127.0.0.1', returnCode: 1, reason: /MQTT 3\.1\.1/ })
})
