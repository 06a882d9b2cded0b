// docs/operations.md, "Hardening", over TLS (mqtts): the packet cap is read from the header under
// TLS too, and a non-reading device is disconnected once its unread bytes pass the limit (the
// bytes TLS holds count like those of a plain socket).
import tls from 'node:tls'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { parseConfig } from '../shared/config.js'
import { credentials, makeDevices } from './helpers/broker.js'
import { makeCerts } from './helpers/certs.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'

const certs = makeCerts()
const { keyPrefix, store } = await openTestRegistry(t, 'limits-tls')
const config = parseConfig({
  redis: REDIS_URL,
  keyPrefix,
  tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
  broker: { maxPacketBytes: 65536, maxPayloadBytes: 32768, outgoingQueueBytes: 256 * 1024, publishesPerWindow: 100_000 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'limits-tls-token-0123456789' }],
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'localhost', port: 8883 }, listen: { host: '127.0.0.1', mqtts: 0 } }]
})
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'limits-tls-a' })
t.teardown(async () => {
  await node.close()
  certs.remove()
})
const [flooder] = await makeDevices(store, 'pkS', ['flood'], 'a')

async function secureSocket (): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port: node.ports.mqtts as number, ca: certs.root, servername: 'localhost' })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('secureConnect', resolve); socket.once('error', reject) })
  return socket
}

function closedWithin (socket: tls.TLSSocket, ms: number): Promise<boolean> {
  return new Promise(resolve => {
    if (socket.destroyed) return resolve(true)
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => { clearTimeout(timer); resolve(true) })
  })
}

t.test('mqtts: a CONNECT declaring 256 MiB is closed on its header', async t => {
  const socket = await secureSocket()
  socket.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))
  socket.write(Buffer.alloc(4096))
  t.ok(await closedWithin(socket, 3000), 'closed within 3 s')
})

t.test('mqtts: a device that subscribes to its own topic, floods and never reads is disconnected', async t => {
  const socket = await secureSocket()
  const creds = credentials(flooder!)
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, ...creds, password: Buffer.from(creds.password) }))
  const connack = await new Promise<Buffer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CONNACK within 5 s')), 5000)
    socket.once('data', data => { clearTimeout(timer); resolve(data) })
  })
  t.equal(connack[3], 0, 'CONNACK 0')
  const topic = '/pkS/flood/user/loop'
  socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }))
  await new Promise(resolve => setTimeout(resolve, 200))
  socket.pause()
  const publish = mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(16 * 1024), qos: 0, retain: false, dup: false })
  const gone = closedWithin(socket, 15_000)
  let open = true
  void gone.then(() => { open = false })
  let sent = 0
  while (open && sent < 512 * 1024 * 1024) {
    if (!socket.write(publish)) await Promise.race([new Promise(resolve => socket.once('drain', resolve)), gone])
    sent += publish.length
  }
  t.ok(await gone, `disconnected (after ${Math.round(sent / 1024 / 1024)} MiB sent)`)
})
