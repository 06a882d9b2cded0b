// docs/protocol.md, "The device application" end to end: the device client against a real sidecar and real broker nodes.
import t from 'tap'
import type { Client } from 'aedes'
import { Topology, parseConfig, type Config } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { RedisStore } from '../shared/store/redis.js'
import type { Store } from '../shared/store/store.js'
import type { Certificate } from '../shared/types.js'
import { startBrokerNode, type BrokerNode } from '../broker/node.js'
import { startSidecar, type SidecarServer } from '../bootstrap/http/server.js'
import { DeviceClient, type ConnectedEvent, type FailedAttempt, type RehomedEvent } from '../device/client.js'
import { BootstrapError } from '../device/bootstrap.js'
import { ConnectRefusedError } from '../device/connect.js'
import { within, WAIT_MS } from './helpers/wait.js'

const PK = 'a1devClient'

interface Teardown { teardown: (fn: () => unknown) => void }

function config (ports: { a: number, b: number }): Config {
  const instance = (id: string, port: number) => ({ id, region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port }, listen: { host: '127.0.0.1', mqtt: 0 } })
  return parseConfig({
    bootstrap: { host: '127.0.0.1', port: 0 },
    regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
    accounts: [{ id: 'acme', name: 'Acme', token: 'acme-token-0123456789' }],
    instances: [instance('iot-a', ports.a), instance('iot-b', ports.b)]
  })
}

interface World {
  store: Store
  a: BrokerNode
  b: BrokerNode
  sidecar: SidecarServer
  url: string
  cert: (name: string, at?: string) => Promise<Certificate>
}

/** Two instances with one broker node each, and a sidecar that sends devices to them, over one memory store. */
async function world (t: Teardown, sidecarPorts?: (a: number, b: number) => { a: number, b: number }): Promise<World> {
  const store = new MemoryStore()
  const a = await startBrokerNode({ config: config({ a: 1, b: 1 }), instanceId: 'iot-a', store, log: silentLogger, ports: { mqtt: 0 } })
  const b = await startBrokerNode({ config: config({ a: 1, b: 1 }), instanceId: 'iot-b', store, log: silentLogger, ports: { mqtt: 0 } })
  const c = config(sidecarPorts ? sidecarPorts(a.ports.mqtt, b.ports.mqtt) : { a: a.ports.mqtt, b: b.ports.mqtt })
  const sidecar = await startSidecar({ config: c, topology: new Topology(c), store, log: silentLogger }, { host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await sidecar.close()
    await a.close()
    await b.close()
    await store.close()
  })
  return {
    store,
    a,
    b,
    sidecar,
    url: `http://127.0.0.1:${sidecar.port}`,
    cert: async (name, at = 'iot-a') => {
      const d = newDevice(PK, name, at)
      await store.createDevices([d])
      return { productKey: d.productKey, deviceName: d.deviceName, deviceSecret: d.deviceSecret }
    }
  }
}

function started (t: Teardown, client: DeviceClient): void {
  t.teardown(() => client.stop())
}

/** The next `event` of the client, within 10 s of asking (the timer starts here, not at the await). */
const once = <T>(client: DeviceClient, event: string): Promise<T> => {
  const next = within(10_000, new Promise<T>(resolve => client.once(event, resolve)), `the device client to emit "${event}"`)
  next.catch(() => {}) // awaited later; a timeout before that is still reported there
  return next
}

t.test('a device bootstraps and gets CONNACK 0 at its home, with the Link SDK CONNECT', async t => {
  const w = await world(t)
  const cert = await w.cert('dev-start')
  const client = new DeviceClient({ certificate: cert, bootstrapUrl: w.url })
  started(t, client)
  const connected = once<ConnectedEvent>(client, 'connected')
  await client.start()
  const e = await connected
  t.same(e.endpoint, { host: '127.0.0.1', port: w.a.ports.mqtt })
  t.equal(e.reason, 'start')
  t.equal(e.attempts, 1)
  t.ok(client.connected)
  const device = await w.store.getDevice(PK, 'dev-start')
  t.equal(device?.online?.nodeId, w.a.nodeId, 'the broker of its instance holds it')
})

t.test('notify: the device answers with the same id, bootstraps again and connects at its new home', async t => {
  const w = await world(t)
  const cert = await w.cert('dev-move')
  const replies: string[] = []
  // The node keeps the reply it waits for to itself (it goes to no subscriber): read what the device
  // sent where the broker first sees it, then let the broker's own check go on unchanged.
  const authorize = w.a.aedes.authorizePublish
  w.a.aedes.authorizePublish = (from, packet, done) => {
    if (from !== null && packet.topic === `/sys/${PK}/dev-move/thing/bootstrap/notify_reply`) replies.push(packet.payload.toString())
    authorize.call(w.a.aedes, from, packet, done)
  }
  const client = new DeviceClient({ certificate: cert, bootstrapUrl: w.url })
  started(t, client)
  await client.start()
  const notified = once<{ id: string }>(client, 'notify')
  const rehomed = once<RehomedEvent>(client, 'rehomed')
  await w.store.moveDevice(PK, 'dev-move', { from: 'iot-a', to: 'iot-b', jobId: 'job-1' })
  await w.store.publishMove({ jobId: 'job-1', productKey: PK, deviceName: 'dev-move', fromInstanceId: 'iot-a', toInstanceId: 'iot-b' })
  const { id } = await notified
  t.match(id, /^\d+$/)
  const e = await rehomed
  t.equal(e.from.port, w.a.ports.mqtt)
  t.equal(e.to.port, w.b.ports.mqtt)
  t.same(replies, [`{"id":"${id}","code":200,"data":{}}`], 'notify_reply carried the same id')
  t.equal((await w.store.getDevice(PK, 'dev-move'))?.online?.nodeId, w.b.nodeId)
})

t.test('a lost connection makes the device bootstrap again and reconnect where it now belongs', async t => {
  const w = await world(t)
  const cert = await w.cert('dev-lost')
  const client = new DeviceClient({ certificate: cert, bootstrapUrl: w.url, backoff: { baseMs: 20, capMs: 100 } })
  started(t, client)
  await client.start()
  // Moved without a move event: no notify, the connection just ends.
  await w.store.moveDevice(PK, 'dev-lost', { from: 'iot-a', to: 'iot-b', jobId: 'job-2' })
  const offline = once<{ reason: string }>(client, 'offline')
  const connected = once<ConnectedEvent>(client, 'connected')
  // Aedes keeps its connected clients in `clients` (not in its type declarations).
  for (const c of Object.values((w.a.aedes as unknown as { clients: Record<string, Client> }).clients)) c.close()
  t.equal((await offline).reason, 'lost')
  const e = await connected
  t.equal(e.reason, 'recover')
  t.equal(e.endpoint.port, w.b.ports.mqtt)
})

t.test('CONNACK 5 (sent to an instance that is not its home) makes the device bootstrap again, backing off', async t => {
  // A sidecar whose endpoint for iot-b points at iot-a's broker: iot-a answers 5 every time.
  const w = await world(t, a => ({ a, b: a }))
  const cert = await w.cert('dev-refused', 'iot-b')
  const client = new DeviceClient({ certificate: cert, bootstrapUrl: w.url, backoff: { baseMs: 20, capMs: 80 } })
  started(t, client)
  const failures: FailedAttempt[] = []
  const three = new Promise<void>(resolve => client.on('attempt-failed', f => { if (failures.push(f) === 3) resolve() }))
  void client.start()
  await three
  for (const f of failures) {
    t.equal(f.step, 'connect')
    t.ok(f.error instanceof ConnectRefusedError && f.error.returnCode === 5, 'CONNACK 5')
    t.ok(f.retryInMs >= 0 && f.retryInMs <= 80, 'a jittered pause within the cap')
  }
  t.notOk(client.connected)
})

t.test('503 from bootstrap (registry down): the device waits at least Retry-After, with jitter, and retries until stopped', async t => {
  const store = new RedisStore({ url: 'redis://127.0.0.1:1/0', keyPrefix: 'homing-test:closed:' })
  const c = config({ a: 1, b: 1 })
  const sidecar = await startSidecar({ config: c, topology: new Topology(c), store, log: silentLogger }, { host: '127.0.0.1', port: 0 })
  let requests = 0
  sidecar.server.on('request', () => requests++)
  t.teardown(async () => {
    await sidecar.close()
    await store.close()
  })
  const client = new DeviceClient({
    certificate: { productKey: PK, deviceName: 'dev-503', deviceSecret: 'x'.repeat(32) },
    bootstrapUrl: `http://127.0.0.1:${sidecar.port}`,
    backoff: { baseMs: 10, capMs: 50 }
  })
  const failures: FailedAttempt[] = []
  const three = new Promise<void>(resolve => client.on('attempt-failed', f => { if (failures.push(f) === 3) resolve() }))
  void client.start()
  await three
  await client.stop()
  const seen = requests
  for (const f of failures) {
    t.equal(f.step, 'bootstrap')
    const retryAfter = f.error instanceof BootstrapError && f.error.status === 503 ? f.error.retryAfterMs : null
    t.ok(retryAfter !== null && retryAfter > 0, 'bootstrap answered 503 with Retry-After')
    t.ok(f.retryInMs >= (retryAfter ?? 0) && f.retryInMs <= (retryAfter ?? 0) + 50, 'Retry-After plus a jitter within the cap')
  }
  await new Promise(resolve => setTimeout(resolve, 150))
  t.equal(requests, seen, 'no request after stop()')
  t.notOk(client.connected)
})

t.test('stop() ends a bootstrap in flight instead of waiting for its timeout', async t => {
  const { createServer } = await import('node:net')
  let closed!: () => void
  const serverSawClose = new Promise<void>(resolve => { closed = resolve })
  let connected!: () => void
  const requestArrived = new Promise<void>(resolve => { connected = resolve })
  const server = createServer(socket => {
    socket.resume()
    connected()
    socket.on('close', () => closed())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  const port = (server.address() as { port: number }).port
  const client = new DeviceClient({ certificate: { productKey: PK, deviceName: 'dev-stop', deviceSecret: 'x'.repeat(32) }, bootstrapUrl: `http://127.0.0.1:${port}`, bootstrapTimeoutMs: 600_000 })
  const failures: FailedAttempt[] = []
  client.on('attempt-failed', f => failures.push(f))
  void client.start()
  await within(WAIT_MS, requestArrived, 'the bootstrap request to reach the server')
  await client.stop()
  await within(WAIT_MS, serverSawClose, 'stop() to close the bootstrap connection')
  t.same(failures, [], 'stopping is not a failed attempt')
  t.notOk(client.connected)
})

t.test('stop() ends a CONNECT waiting for its CONNACK', async t => {
  const { createServer } = await import('node:net')
  // A "broker" that takes the CONNECT and never answers.
  let closed!: () => void
  const mqttClosed = new Promise<void>(resolve => { closed = resolve })
  let arrived!: () => void
  const connectArrived = new Promise<void>(resolve => { arrived = resolve })
  const silent = createServer(socket => {
    socket.once('data', () => arrived())
    socket.on('close', () => closed())
  })
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  const mqttPort = (silent.address() as { port: number }).port
  const c = config({ a: mqttPort, b: mqttPort })
  const store = new MemoryStore()
  const d = newDevice(PK, 'dev-silent', 'iot-a')
  await store.createDevices([d])
  const sidecar = await startSidecar({ config: c, topology: new Topology(c), store, log: silentLogger }, { host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await sidecar.close()
    await new Promise<void>(resolve => silent.close(() => resolve()))
  })
  const client = new DeviceClient({ certificate: d, bootstrapUrl: `http://127.0.0.1:${sidecar.port}`, connectTimeoutMs: 600_000 })
  const failures: FailedAttempt[] = []
  client.on('attempt-failed', f => failures.push(f))
  void client.start()
  await within(WAIT_MS, connectArrived, 'the CONNECT to reach the silent broker')
  await client.stop()
  await within(WAIT_MS, mqttClosed, 'stop() to close the MQTT connection waiting for its CONNACK')
  t.same(failures, [], 'stopping is not a failed attempt')
})
