// docs/operations.md, "Hardening": what one connection may cost a broker node. Packet sizes are
// refused on the fixed header (before the body is buffered), with a small budget before the CONNECT
// is accepted; a device that does not read is closed once its unread bytes pass the limit; a payload
// over the limit and a publish rate over the limit close the connection.
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import WebSocket from 'ws'
import { startBrokerNode } from '../broker/node.js'
import { Metrics } from '../shared/metrics/metrics.js'
import { brokerConfig, closed, connectDevice, credentials, makeDevices, nextMessage } from './helpers/broker.js'
import { header } from './helpers/mqtt-bytes.js'
import { openTestRegistry } from './helpers/registry.js'

const { keyPrefix, store } = await openTestRegistry(t, 'limits')
const limits = { maxPacketBytes: 65536, maxPayloadBytes: 32768, outgoingQueueBytes: 256 * 1024, publishesPerWindow: 100_000 }
const config = brokerConfig(keyPrefix, { broker: limits })
const slowConfig = brokerConfig(keyPrefix, { broker: { ...limits, publishesPerWindow: 20, publishWindowSec: 60 } })
const metrics = new Metrics({ defaults: false })
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'limits-a1', metrics, ports: { mqtt: 0, ws: 0 } })
const rated = await startBrokerNode({ config: slowConfig, instanceId: 'a', store, nodeId: 'limits-a2', metrics })
t.teardown(async () => {
  await node.close()
  await rated.close()
})
const devices = await makeDevices(store, 'pkL', ['normal', 'big', 'payload', 'flood', 'rate', 'ws'], 'a')
const cert = (name: string) => devices.find(d => d.deviceName === name)!

const MAX_LENGTH = 268_435_455

/** Resolves true when the socket is closed by the broker within `ms`, false otherwise. */
function closedWithin (socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise(resolve => {
    if (socket.destroyed) return resolve(true)
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
}

async function rawSocket (port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  return socket
}

/** CONNECT of a device, raw; resolves once its CONNACK 0 came. */
async function rawConnect (port: number, name: string): Promise<net.Socket> {
  const socket = await rawSocket(port)
  const creds = credentials(cert(name))
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, ...creds, password: Buffer.from(creds.password) }))
  const connack = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no CONNACK within 5 s`)), 5000)
    socket.once('data', data => { clearTimeout(timer); resolve(data) })
  })
  if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`${name}: CONNACK ${connack.toString('hex')}`)
  return socket
}

async function limitCloses (reason: string): Promise<number> {
  const text = await metrics.render()
  const line = text.split('\n').find(l => l.startsWith('homing_mqtt_limit_closes_total{') && l.includes(`reason="${reason}"`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

/** A device can still connect, subscribe and get its own message back. */
async function serves (port: number): Promise<boolean> {
  const client = await connectDevice(port, cert('normal'))
  const topic = '/pkL/normal/user/echo'
  await client.subscribeAsync(topic)
  const echo = nextMessage(client, topic)
  await client.publishAsync(topic, 'still here')
  const ok = (await Promise.race([echo, new Promise<null>(resolve => setTimeout(resolve, 3000, null))]))?.toString() === 'still here'
  await client.endAsync()
  return ok
}

t.test('a CONNECT declaring 256 MiB is closed on its header, and the node still serves devices', async t => {
  const socket = await rawSocket(node.ports.mqtt)
  // 256 MiB less one byte: the largest length MQTT's four length bytes can declare.
  socket.write(header(1, MAX_LENGTH))
  // A few body bytes: the broker must not wait for the rest.
  socket.write(Buffer.alloc(4096))
  t.ok(await closedWithin(socket, 3000), 'closed within 3 s of the header')
  t.ok(await limitCloses('preauth_bytes') >= 1, 'counted as preauth_bytes')
  t.ok(await serves(node.ports.mqtt), 'a normal device still connects and publishes')
})

t.test('before the CONNECT is accepted, a small budget holds: 9000 bytes of CONNECT are refused', async t => {
  const socket = await rawSocket(node.ports.mqtt)
  socket.write(header(1, 9000))
  // Not the whole packet: without the budget the parser would wait for the rest.
  socket.write(Buffer.alloc(8500))
  t.ok(await closedWithin(socket, 3000), 'closed: over broker.preAuthMaxBytes (8192)')
})

t.test('over WebSocket too: a declared-huge CONNECT closes the connection', async t => {
  const ws = new WebSocket(`ws://127.0.0.1:${node.ports.ws}/mqtt`, 'mqtt')
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const gone = new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), 3000)
    ws.once('close', () => { clearTimeout(timer); resolve(true) })
  })
  ws.send(Buffer.concat([header(1, MAX_LENGTH), Buffer.alloc(4096)]))
  t.ok(await gone, 'closed within 3 s')
})

t.test('after CONNACK, a PUBLISH declaring more than maxPacketBytes is closed on its header', async t => {
  const socket = await rawConnect(node.ports.mqtt, 'big')
  const before = await limitCloses('packet_size')
  socket.write(header(3, 70_000))
  socket.write(Buffer.alloc(100))
  t.ok(await closedWithin(socket, 3000), 'closed within 3 s, body never sent')
  t.equal(await limitCloses('packet_size'), before + 1, 'counted as packet_size')
})

t.test('a payload over maxPayloadBytes closes the connection instead of being dropped', async t => {
  const client = await connectDevice(node.ports.mqtt, cert('payload'))
  const gone = closed(client)
  client.publish('/pkL/payload/user/big', Buffer.alloc(40_000))
  const result = await Promise.race([gone.then(() => 'closed'), new Promise(resolve => setTimeout(resolve, 3000, 'open'))])
  t.equal(result, 'closed', 'the broker closed the connection')
  t.ok(await limitCloses('payload_size') >= 1, 'counted as payload_size')
  client.end(true)
})

t.test('a device that subscribes to its own topic, floods and never reads is disconnected; the node stays up', async t => {
  const socket = await rawConnect(node.ports.mqtt, 'flood')
  const topic = '/pkL/flood/user/loop'
  socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }))
  await new Promise(resolve => setTimeout(resolve, 200))
  socket.pause() // never reads again
  const publish = mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(16 * 1024), qos: 0, retain: false, dup: false })
  const gone = closedWithin(socket, 15_000)
  let sent = 0
  let open = true
  void gone.then(() => { open = false })
  // Bounded: at most 512 MiB or until the broker closes the socket.
  while (open && sent < 512 * 1024 * 1024) {
    if (!socket.write(publish)) await Promise.race([new Promise(resolve => socket.once('drain', resolve)), gone])
    sent += publish.length
  }
  t.ok(await gone, `disconnected (after ${Math.round(sent / 1024 / 1024)} MiB sent)`)
  t.ok(await limitCloses('outgoing_queue') >= 1, 'counted as outgoing_queue')
  t.ok(await serves(node.ports.mqtt), 'the node still serves a normal device')
})

t.test('a device over its publish rate is disconnected', async t => {
  const client = await connectDevice(rated.ports.mqtt, cert('rate'))
  const gone = closed(client)
  for (let i = 0; i < 30; i++) client.publish('/pkL/rate/user/tick', String(i))
  const result = await Promise.race([gone.then(() => 'closed'), new Promise(resolve => setTimeout(resolve, 3000, 'open'))])
  t.equal(result, 'closed', '30 publishes against a limit of 20 per minute close the connection')
  t.ok(await limitCloses('publish_rate') >= 1, 'counted as publish_rate')
  client.end(true)
  const again = await connectDevice(rated.ports.mqtt, cert('rate'))
  const echoed = closed(again)
  again.publish('/pkL/rate/user/tick', 'x')
  const still = await Promise.race([echoed.then(() => 'closed'), new Promise(resolve => setTimeout(resolve, 300, 'open'))])
  t.equal(still, 'closed', 'the window still counts after a reconnect (limits are per device, not per connection)')
  again.end(true)
})
