// docs/protocol.md, "Moved devices": under broker.movedDevices `redirect`, a device that moved away while
// offline and comes back to its old instance is accepted, sent thing/bootstrap/notify (cmd 0) at once,
// may publish nothing but the reply, is never marked online there, and is disconnected after its reply
// or the bounded wait; each redirect is counted. Under the default `refuse` it gets CONNACK 5.
import net from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { Metrics } from '../shared/metrics/metrics.js'
import { openRedisStore } from '../shared/store/redis.js'
import { notifyReplyTopic, notifyTopic } from '../shared/topics.js'
import { brokerConfig, closed, connackCode, connectDevice, credentials, makeDevices } from './helpers/broker.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const keyPrefix = uniquePrefix('redirect')
const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
const metrics = new Metrics()
const redirecting = await startBrokerNode({ config: brokerConfig(keyPrefix, { broker: { movedDevices: 'redirect', notifyTimeoutMs: 400 } }), instanceId: 'a', store, nodeId: 'redirect-a1', metrics })
const refusing = await startBrokerNode({ config: brokerConfig(keyPrefix), instanceId: 'a', store, nodeId: 'redirect-a2' })
t.teardown(async () => {
  await redirecting.close()
  await refusing.close()
  await store.close()
  await dropPrefix(keyPrefix)
})

const names = ['mqttjs-dev', 'raw-dev', 'refused-dev', 'never-moved']
const certs = await makeDevices(store, 'pkX', names, 'a')
const cert = (dn: string) => certs.find(c => c.deviceName === dn)!
// Moved while offline: no broker held them, so nobody told them.
for (const dn of ['mqttjs-dev', 'raw-dev', 'refused-dev']) {
  const outcome = await store.moveDevice('pkX', dn, { from: 'a', to: 'b', jobId: 'job-offline' })
  if (outcome.result !== 'moved') throw new Error(`${dn}: ${outcome.result}`)
}
// Assigned elsewhere without a job (created there): nothing says it moved away from here.
await makeDevices(store, 'pkX', ['elsewhere'], 'b')

async function redirectCount (outcome: string): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find(m => m.name === 'homing_mqtt_redirects_total')
  return (metric?.values ?? []).find(v => v.labels.outcome === outcome)?.value ?? 0
}

t.test('mqtt.js: CONNACK 0, the notify at once without subscribing, never online here, disconnected after the reply', async t => {
  const client = await connectDevice(redirecting.ports.mqtt, cert('mqttjs-dev'))
  const gone = closed(client)
  const notify = await within(WAIT_MS, new Promise<Buffer>(resolve => client.on('message', (topic, payload) => {
    if (topic === notifyTopic('pkX', 'mqttjs-dev')) resolve(payload)
  })), 'the notify to reach the redirected device')
  t.match(notify.toString(), /^\{"id":"\d{1,10}","version":"1\.0","method":"thing\.bootstrap\.notify","params":\{"cmd":0\}\}$/)
  t.equal((await store.getDevice('pkX', 'mqttjs-dev'))?.online, null, 'not marked online at the old instance')
  await t.rejects(client.subscribeAsync('/pkX/mqttjs-dev/user/get'), 'a SUBSCRIBE is refused (SUBACK 0x80)')
  client.publish(notifyReplyTopic('pkX', 'mqttjs-dev'), notifyReplyPayload(messageId(notify) ?? ''), { qos: 0 })
  await within(WAIT_MS, gone, 'the broker to disconnect the device after its reply')
  t.equal((await store.getDevice('pkX', 'mqttjs-dev'))?.online, null, 'still not online anywhere')
  await eventually(async () => await redirectCount('answered') === 1, 'the redirect to be counted as answered', { ms: WAIT_MS })
  t.pass('counted: answered')
})

t.test('raw packets: anything but the reply is refused (dropped, never delivered); no reply: disconnected after the wait', async t => {
  const seen: string[] = []
  const onPublish = (packet: { topic: string }): void => { seen.push(packet.topic) }
  redirecting.aedes.on('publish', onPublish)
  t.teardown(() => { redirecting.aedes.off('publish', onPublish) })
  const socket = net.connect(redirecting.ports.mqtt, '127.0.0.1')
  socket.on('error', () => {})
  const parser = mqttPacket.parser()
  const packets: Packet[] = []
  socket.on('data', chunk => parser.parse(chunk))
  parser.on('packet', packet => packets.push(packet))
  const gone = new Promise<number>(resolve => socket.on('close', () => resolve(Date.now())))
  const creds = credentials(cert('raw-dev'))
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: creds.clientId, username: creds.username, password: Buffer.from(creds.password) }))
  const until = async (what: string, test: (p: Packet) => boolean): Promise<Packet> => {
    for (let i = 0; i < 250; i++) {
      const found = packets.find(test)
      if (found !== undefined) return found
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    throw new Error(`no ${what} from the broker`)
  }
  const connack = await until('CONNACK', p => p.cmd === 'connack')
  t.equal(connack.cmd === 'connack' && connack.returnCode, 0, 'CONNACK 0')
  const started = Date.now()
  await until('notify', p => p.cmd === 'publish' && p.topic === notifyTopic('pkX', 'raw-dev'))
  socket.write(mqttPacket.generate({ cmd: 'publish', topic: '/pkX/raw-dev/user/update', payload: 'hello', qos: 1, messageId: 7, retain: false, dup: false }))
  socket.write(mqttPacket.generate({ cmd: 'publish', topic: '/sys/pkX/raw-dev/thing/event/property/post', payload: '{"id":"1","params":{}}', qos: 0, retain: false, dup: false }))
  await until('PUBACK', p => p.cmd === 'puback' && p.messageId === 7)
  const closedAt = await within(WAIT_MS, gone, 'the broker to close the connection after the wait')
  t.ok(closedAt - started >= 300, `closed after the bounded wait (${closedAt - started} ms)`)
  t.notOk(seen.some(topic => topic.startsWith('/pkX/') || topic.startsWith('/sys/pkX/raw-dev/thing/event')), 'the refused publishes went nowhere')
  t.notOk(packets.some(p => p.cmd === 'publish' && p.topic.includes('property/post_reply')), 'no thing-model reply to a refused post')
  t.equal((await store.getDevice('pkX', 'raw-dev'))?.online, null, 'never marked online')
  await eventually(async () => await redirectCount('timeout') === 1, 'the redirect to be counted as timeout', { ms: WAIT_MS })
  t.pass('counted: timeout')
})

t.test('under the default `refuse`, and for a device no job moved, CONNACK 5 as before', async t => {
  t.equal(await connackCode(refusing.ports.mqtt, credentials(cert('refused-dev'))), 5, 'refuse: CONNACK 5')
  t.equal(await connackCode(redirecting.ports.mqtt, credentials({ productKey: 'pkX', deviceName: 'elsewhere', deviceSecret: (await store.getDevice('pkX', 'elsewhere'))!.deviceSecret })), 5, 'never moved by a job: CONNACK 5')
})
