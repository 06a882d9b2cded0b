// Graceful shutdown on SIGTERM / SIGINT, through each command: the broker closes its devices'
// connections (so they reconnect to another node) and marks them offline, the sidecar finishes the
// request in flight, `homing up` does both; each exits 0, which it only does when its own shutdown
// finished (the 10 s bound of shared/shutdown.ts exits 1).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import t from 'tap'
import { credentials } from '../device/credentials.js'
import { makeDevices } from './helpers/broker.js'
import { startHoming } from './helpers/homing-process.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { apiClient } from './helpers/test-sidecar.js'
import { event, eventually, within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'shutdown')
const dir = mkdtempSync(join(tmpdir(), 'homing-shutdown-'))
t.teardown(async () => {
  rmSync(dir, { recursive: true, force: true })
})
const TOKEN = 'shutdown-token-0123456789'
const config = (redis: boolean): string => {
  const file = join(dir, redis ? 'redis.json' : 'memory.json')
  writeFileSync(file, JSON.stringify({
    ...(redis ? { redis: REDIS_URL, keyPrefix } : {}),
    bootstrap: { host: '127.0.0.1', port: 0 },
    regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
    accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
    instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'mqtt.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0, ws: 0, http: 0 } }]
  }))
  return file
}
const [tcpDevice, wsDevice] = await makeDevices(store, 'a1shutdown1', ['tcp-device', 'ws-device'], 'a')

// Each start costs seconds: start them all at once, check them in turn.
const runs = {
  broker: startHoming(['broker', '--config', config(true), '--instance', 'a', '--node', 'shutdown-a1']),
  bootstrap: startHoming(['bootstrap', '--config', config(true), '--port', '0']),
  up: startHoming(['up', '--config', config(false), '--quiet'], { REDIS_URL: '' })
}
t.teardown(() => { for (const run of Object.values(runs)) run.kill() })

const base = { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, connectTimeout: 5000 } as const
const closeSeen = (client: MqttClient): Promise<void> => new Promise(resolve => client.once('close', () => resolve()))

t.test('homing broker, SIGTERM: its devices (TCP and WebSocket) see the close, are marked offline, exit 0', async t => {
  const run = runs.broker
  const { ports } = await run.logged('listening')
  const tcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt as number}`, { ...base, ...credentials(tcpDevice!) })
  const ws = await mqtt.connectAsync(`ws://127.0.0.1:${ports.ws as number}/mqtt`, { ...base, ...credentials(wsDevice!) })
  t.teardown(() => { tcp.end(true); ws.end(true) })
  t.ok((await store.getDevice('a1shutdown1', 'tcp-device'))?.online, 'online before')
  const closes = [closeSeen(tcp), closeSeen(ws)]

  run.child.kill('SIGTERM')
  await within(10_000, Promise.all(closes), 'the broker to close both connections on SIGTERM')
  t.pass('both clients saw their connection closed by the broker')
  t.equal(await run.exit(), 0, 'exit 0: the shutdown finished by itself')
  t.ok(run.entries.some(e => e.msg === 'stopped'), 'logged "stopped"')
  t.equal((await store.getDevice('a1shutdown1', 'tcp-device'))?.online, null, 'marked offline on the way out (TCP)')
  t.equal((await store.getDevice('a1shutdown1', 'ws-device'))?.online, null, 'marked offline on the way out (WebSocket)')
})

t.test('homing bootstrap, SIGTERM: the request in flight is answered in full, new connections are refused, exit 0', async t => {
  const run = runs.bootstrap
  const { port } = await run.logged('listening')
  const body = sdkForm({ productKey: 'a1shutdown1', deviceName: 'tcp-device' })
  const request = sdkRequest(body)
  const cut = request.length - 10

  // Headers and part of the body now, the rest once the shutdown has begun.
  const socket = net.connect(port as number, '127.0.0.1')
  await event(socket, 'connect', 'a TCP connection to the sidecar')
  const chunks: Buffer[] = []
  socket.on('data', chunk => chunks.push(chunk))
  const ended = new Promise(resolve => socket.once('close', resolve))
  socket.write(request.subarray(0, cut))
  await new Promise(resolve => setTimeout(resolve, 200))

  run.child.kill('SIGTERM')
  await run.logged('shutting down')
  // The log line is written just before the listener closes, in the same turn of the child's event
  // loop; a loaded machine can pause the child between the two, so a connection made at once may still
  // be accepted. What a client sees soon after: every new connection refused.
  const tryConnect = async (): Promise<string> => within(WAIT_MS, new Promise<string>(resolve => {
    const late = net.connect(port as number, '127.0.0.1')
    late.once('connect', () => { late.destroy(); resolve('connected') })
    late.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
  }), 'a late connection to be accepted or refused')
  await eventually(async () => await tryConnect() === 'ECONNREFUSED', 'new connections to be refused once the shutdown began', { ms: 2000, every: 50 })
  t.equal(await tryConnect(), 'ECONNREFUSED', 'no new connection once the shutdown began')
  socket.write(request.subarray(cut))
  await within(10_000, ended, 'the sidecar to answer the request in flight and close')
  const answer = readStrict(Buffer.concat(chunks))
  t.equal(answer.status, 200, 'the request in flight got its answer')
  t.same(answer.violations, [])
  t.equal(answer.body, '{"code":200,"data":{"resources":{"mqtt":{"host":"mqtt.example.com","port":1883}}},"message":"success"}')
  t.equal(await run.exit(), 0)
})

t.test('homing up, SIGINT: the device sees the close, exit 0', async t => {
  const run = runs.up
  const listening = await run.logged('listening', e => e.brokers !== undefined)
  const api = apiClient(`http://127.0.0.1:${listening.port as number}`, TOKEN)
  t.equal((await api('POST', '/products', { instanceId: 'a', name: 'Lamp', productKey: 'a1shutdown2' })).status, 201)
  const [cert] = (await api('POST', '/products/a1shutdown2/devices', { instanceId: 'a', deviceNames: ['lamp'] })).json.certificates
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${listening.brokers[0].ports.mqtt as number}`, { ...base, ...credentials(cert) })
  t.teardown(() => client.end(true))
  const closed = closeSeen(client)
  run.child.kill('SIGINT')
  await within(10_000, closed, 'homing up to close the device connection on SIGINT')
  t.pass('the client saw its connection closed')
  t.equal(await run.exit(), 0)
  t.ok(run.entries.some(e => e.msg === 'shutting down' && e.signal === 'SIGINT'))
})
