// Presence under hang-ups: a device that closes its socket while its CONNECT is still being
// authenticated (or while the registry records it online) must not be left marked online, and a
// newer connection's mark must survive an older connection going away.
import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import type { Certificate } from '../shared/types.js'
import { brokerConfig, closed, connectDevice, credentials, makeDevices } from './helpers/broker.js'
import { openTestRegistry } from './helpers/registry.js'

const { keyPrefix, store } = await openTestRegistry(t, 'presence')
const config = brokerConfig(keyPrefix)
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'presence-a' })
t.teardown(async () => {
  await node.close()
})
const [lamp, fan] = await makeDevices(store, 'pkPres', ['lamp', 'fan'], 'a') as [Certificate, Certificate]

/** Polls the registry until the device's online mark satisfies `want`, for at most 5 s. */
async function onlineMark (cert: Certificate, want: (online: unknown) => boolean, what: string): Promise<void> {
  const until = Date.now() + 5000
  for (;;) {
    const device = await store.getDevice(cert.productKey, cert.deviceName)
    if (want(device?.online ?? null)) return
    if (Date.now() > until) throw new Error(`within 5 s: ${what} (online mark: ${JSON.stringify(device?.online)})`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** A signed CONNECT written on a raw socket, which is destroyed `afterMs` later (0: at once). */
async function connectAndHangUp (cert: Certificate, afterMs: number): Promise<void> {
  const creds = credentials(cert)
  const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, ...creds, password: Buffer.from(creds.password) })
  const socket = net.connect(node.ports.mqtt, '127.0.0.1')
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write(bytes)
  if (afterMs > 0) await new Promise(resolve => setTimeout(resolve, afterMs))
  socket.destroy()
}

t.test('devices that hang up in the middle of their CONNECT are not left online', async t => {
  // Hang-ups at different moments: before authentication reads the registry, while it does, while
  // the online mark is written, and just after CONNACK.
  for (const afterMs of [0, 0, 1, 2, 3, 5, 8, 12, 20, 40]) await connectAndHangUp(lamp, afterMs)
  await onlineMark(lamp, online => online === null, 'the device that hung up is offline')
  t.pass('offline in the registry')
  // And the device can still connect normally afterwards.
  const client = await connectDevice(node.ports.mqtt, lamp)
  await onlineMark(lamp, online => online !== null, 'the new connection is marked online')
  client.end(true)
  await onlineMark(lamp, online => online === null, 'offline again once it left')
})

t.test('an older connection going away leaves the newer one\'s online mark', async t => {
  const older = await connectDevice(node.ports.mqtt, fan)
  const olderClosed = closed(older)
  const newer = await connectDevice(node.ports.mqtt, fan)
  t.teardown(() => { newer.end(true) })
  let timer: NodeJS.Timeout | undefined
  await Promise.race([olderClosed, new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error('the older connection was not closed within 5 s of the takeover')), 5000) })])
  clearTimeout(timer)
  // The newer connection's mark stands, now and after the older one's offline write has had its turn.
  await new Promise(resolve => setTimeout(resolve, 300))
  const device = await store.getDevice(fan.productKey, fan.deviceName)
  t.not(device?.online, null, 'still online')
  t.equal(device?.online?.nodeId, 'presence-a')
})
