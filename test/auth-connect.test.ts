// docs/protocol.md, "CONNECT authentication": CONNECT authentication and its CONNACK codes, with mqtt.js and mosquitto_pub.
import { execFile } from 'node:child_process'
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net'
import { promisify } from 'node:util'
import { Aedes } from 'aedes'
import t, { type Test } from 'tap'
import { homing } from '../broker/plugin.js'
import { startBrokerNode } from '../broker/node.js'
import { newDevice } from '../shared/device.js'
import { sign } from '../shared/sign.js'
import { openRedisStore, RedisStore } from '../shared/store/redis.js'
import { brokerConfig, connackCode, connect, connectDevice, credentials, makeDevices, nextMessage } from './helpers/broker.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'auth')
const config = brokerConfig(keyPrefix)
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'auth-a1' })
const port = node.ports.mqtt
t.teardown(async () => {
  await node.close()
})

const [dev1, dev2, dev3, dev4, dev5] = await makeDevices(store, 'pkA', ['dev1', 'dev2', 'dev3', 'dev4', 'dev5'], 'a')
const [elsewhere] = await makeDevices(store, 'pkA', ['elsewhere'], 'b')

/** A round trip through the broker: the connection is alive and its publishes are accepted. */
async function roundTrip (t: Test, client: Awaited<ReturnType<typeof connect>>, topic: string): Promise<void> {
  await client.subscribeAsync(topic)
  const message = nextMessage(client, topic)
  await client.publishAsync(topic, 'ping', { qos: 1 })
  t.equal((await within(WAIT_MS, message, `client to receive a message on ${topic}`)).toString(), 'ping', 'round trip')
}

t.test('a signed CONNECT of a device assigned here is accepted (0) and marks it online and active', async t => {
  const client = await connectDevice(port, dev1!)
  const device = await store.getDevice('pkA', 'dev1')
  t.equal(device?.online?.nodeId, 'auth-a1')
  t.equal(device?.runtime.a?.active, true, 'docs/distribution.md, "Rule 5": active after the first CONNECT')
  t.equal(device?.runtime.a?.lastAddress, '127.0.0.1')
  await client.endAsync()
  // The offline mark is written once the broker saw the socket close.
  for (let i = 0; i < 100 && (await store.getDevice('pkA', 'dev1'))?.online !== null; i++) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal((await store.getDevice('pkA', 'dev1'))?.online, null, 'offline after disconnect')
})

t.test('each sign method and clientId form is accepted', async t => {
  for (const method of ['hmacmd5', 'hmacsha1', 'hmacsha256'] as const) {
    t.equal(await connackCode(port, credentials(dev2!, { method })), 0, method)
  }
  const nodeSdk = {
    clientId: '\n        pkA&dev2_aliyun-iot-device-sdk-js|securemode=3,\n        signmethod=hmacsha1,\n        timestamp=1700000000000|\n      ',
    username: 'dev2&pkA',
    password: sign(dev2!.deviceSecret, { clientId: 'pkA&dev2_aliyun-iot-device-sdk-js', deviceName: 'dev2', productKey: 'pkA', timestamp: '1700000000000' }, 'hmacsha1')
  }
  t.equal(await connackCode(port, nodeSdk), 0, 'Node SDK newline form')
  const noTimestamp = {
    clientId: 'abc|securemode=3|',
    username: 'dev2&pkA',
    password: sign(dev2!.deviceSecret, { clientId: 'abc', deviceName: 'dev2', productKey: 'pkA' })
  }
  t.equal(await connackCode(port, noTimestamp), 0, 'no signmethod, no timestamp: hmacmd5')
  const emptyId = {
    clientId: '|securemode=3,signmethod=hmacsha1,timestamp=2524608000000|',
    username: 'dev2&pkA',
    password: sign(dev2!.deviceSecret, { clientId: '', deviceName: 'dev2', productKey: 'pkA', timestamp: '2524608000000' }, 'hmacsha1')
  }
  t.equal(await connackCode(port, emptyId), 0, 'empty id, timestamp in 2050')
})

t.test('an upper-case hex password (Link SDK C) is accepted', async t => {
  const creds = credentials(dev2!)
  t.equal(await connackCode(port, { ...creds, password: creds.password.toUpperCase() }), 0)
})

t.test('4: unknown device, bad signature, no password', async t => {
  const ghost = { productKey: 'pkA', deviceName: 'ghost', deviceSecret: 'whatever' }
  t.equal(await connackCode(port, credentials(ghost)), 4, 'unknown device')
  t.equal(await connackCode(port, credentials(dev3!, { secret: 'not-the-secret' })), 4, 'bad signature')
  const creds = credentials(dev3!)
  t.equal(await connackCode(port, { ...creds, password: creds.password.slice(0, -2) }), 4, 'truncated signature')
  t.equal(await connackCode(port, { clientId: creds.clientId, username: creds.username }), 4, 'no password')
  t.equal(await connackCode(port, credentials(elsewhere!, { secret: 'wrong' })), 4, 'a device assigned elsewhere with a wrong signature gets 4, not 5')
})

t.test('5: assigned to another instance, moved away, disabled, not yet placed', async t => {
  t.equal(await connackCode(port, credentials(elsewhere!)), 5, 'assigned to b')
  const disabled = { ...newDevice('pkA', 'disabled', 'a'), enabled: false }
  await store.createDevices([disabled])
  t.equal(await connackCode(port, credentials(disabled)), 5, 'disabled')
  await store.setCandidates('pkA', 'dev4', { from: 'a', candidates: [{ region: 'r1', instanceId: 'a' }], jobId: 'job-nearest' })
  t.equal(await connackCode(port, credentials(dev4!)), 5, 'waiting for nearest placement')
  t.equal(await connackCode(port, credentials(dev5!)), 0, 'before the move')
  await store.moveDevice('pkA', 'dev5', { from: 'a', to: 'b', jobId: 'job-move' })
  t.equal(await connackCode(port, credentials(dev5!)), 5, 'after the move')
})

t.test('2: clientId or username that cannot be parsed', async t => {
  const creds = credentials(dev3!)
  t.equal(await connackCode(port, { ...creds, clientId: 'pkA.dev3' }), 2, 'no "|"')
  t.equal(await connackCode(port, { ...creds, clientId: 'pkA.dev3|securemode=3|junk' }), 2, 'text after the last "|"')
  t.equal(await connackCode(port, { ...creds, clientId: 'pkA.dev3|signmethod=hmacsha512|' }), 2, 'unknown signmethod')
  t.equal(await connackCode(port, { ...creds, username: 'dev3' }), 2, 'username without "&"')
  t.equal(await connackCode(port, { clientId: creds.clientId }), 2, 'no username (and no password)')
  t.equal(await connackCode(port, { ...creds, username: '' }), 2, 'empty username')
  t.equal(await connackCode(port, { ...creds, clientId: '' }), 2, 'empty clientId')
})

t.test('keepalive outside 30-1200 s is refused with 2; the ends of the range are accepted', async t => {
  t.equal(await connackCode(port, credentials(dev3!), { keepalive: 30 }), 0, '30 s')
  t.equal(await connackCode(port, credentials(dev3!), { keepalive: 1200 }), 0, '1200 s (Link SDK)')
  t.equal(await connackCode(port, credentials(dev3!), { keepalive: 29 }), 2, '29 s')
  t.equal(await connackCode(port, credentials(dev3!), { keepalive: 1201 }), 2, '1201 s')
  t.equal(await connackCode(port, credentials(dev3!), { keepalive: 0 }), 2, '0 (no keepalive)')
})

t.test('a property post is kept with the runtime data of this instance', async t => {
  const client = await connectDevice(port, dev3!)
  t.teardown(() => client.endAsync())
  const payload = '{"id":"1","version":"1.0","params":{"LightSwitch":1},"method":"thing.event.property.post"}'
  await client.publishAsync('/sys/pkA/dev3/thing/event/property/post', payload, { qos: 1 })
  let properties: string | null | undefined
  for (let i = 0; i < 100; i++) {
    properties = (await store.getDevice('pkA', 'dev3'))?.runtime.a?.properties
    if (properties) break
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.equal(properties, payload)
})

const mosquitto = await promisify(execFile)('mosquitto_pub', ['--help']).then(() => true, (err: { code?: unknown }) => err.code !== 'ENOENT')

t.test('mosquitto_pub: a signed CONNECT is accepted and its message delivered, a wrong one refused', { skip: !mosquitto && 'mosquitto_pub not installed' }, async t => {
  const topic = '/pkA/dev2/user/update'
  const received = new Promise<string>(resolve => {
    node.aedes.subscribe(topic, (packet, done) => { resolve(packet.payload.toString()); done() }, () => {})
  })
  const run = (creds: { clientId: string, username: string, password: string }) =>
    promisify(execFile)('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-k', '60', '-q', '1',
      '-i', creds.clientId, '-u', creds.username, '-P', creds.password, '-t', topic, '-m', 'from mosquitto'], { timeout: 15_000 })
  await run(credentials(dev2!))
  t.equal(await within(WAIT_MS, received, 'the message mosquitto_pub published to reach a subscriber on the broker'), 'from mosquitto')
  const refused = await run(credentials(dev2!, { secret: 'wrong' })).then(() => null, (err: { code: number, stderr: string }) => err)
  t.ok(refused !== null && refused.code !== 0, 'non-zero exit')
  t.match(refused?.stderr ?? '', /refused|bad user name or password|not authori[sz]ed/i)
})

/** A TCP proxy in front of the test Redis that can be taken down and brought back. */
async function redisProxy (): Promise<{ url: string, down: () => Promise<void>, up: () => Promise<void>, close: () => Promise<void> }> {
  const target = new URL(REDIS_URL)
  const sockets = new Set<Socket>()
  let server: Server | null = null
  let proxyPort = 0
  const up = async (): Promise<void> => {
    server = createServer(socket => {
      const upstream = tcpConnect(Number(target.port || 6379), target.hostname)
      for (const s of [socket, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => {})
      }
      socket.pipe(upstream).pipe(socket)
      socket.on('close', () => upstream.destroy())
      upstream.on('close', () => socket.destroy())
    })
    await new Promise<void>(resolve => (server as Server).listen(proxyPort, '127.0.0.1', resolve))
    const address = server.address()
    if (typeof address === 'object' && address !== null) proxyPort = address.port
  }
  const down = async (): Promise<void> => {
    const s = server
    server = null
    for (const socket of sockets) socket.destroy()
    if (s) await new Promise<void>(resolve => s.close(() => resolve()))
  }
  await up()
  return { url: `redis://127.0.0.1:${proxyPort}${target.pathname}`, down, up, close: down }
}

t.test('3: registry unreachable; existing connections stay; new ones are accepted again once it is back', async t => {
  const proxy = await redisProxy()
  t.teardown(() => proxy.close())
  const proxied = await openRedisStore({ url: proxy.url, keyPrefix })
  t.teardown(() => proxied.close())
  // The plugin on an Aedes instance of the test's own, as a team that already runs Aedes would attach it.
  const aedes = await Aedes.createBroker()
  const plugin = homing(aedes, { instanceId: 'a', nodeId: 'auth-proxied', store: proxied })
  await plugin.ready
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const proxiedPort = typeof address === 'object' && address !== null ? address.port : 0
  t.teardown(async () => {
    server.close()
    await new Promise<void>(resolve => aedes.close(() => resolve()))
    await plugin.close()
  })

  const client = await connectDevice(proxiedPort, dev1!)
  t.equal((await store.getDevice('pkA', 'dev1'))?.online?.nodeId, 'auth-proxied')
  await proxy.down()
  t.equal(await connackCode(proxiedPort, credentials(dev2!)), 3, 'CONNACK 3 while the registry is down')
  await roundTrip(t, client, '/pkA/dev1/user/alive')
  t.ok(client.connected, 'the existing connection stays')
  await client.endAsync()
  await proxy.up()
  let code = -1
  for (let i = 0; i < 100 && code !== 0; i++) {
    code = await connackCode(proxiedPort, credentials(dev2!))
    if (code !== 0) await new Promise(resolve => setTimeout(resolve, 100))
  }
  t.equal(code, 0, 'accepted again without a restart')
  for (let i = 0; i < 100 && (await store.getDevice('pkA', 'dev1'))?.online !== null; i++) await new Promise(resolve => setTimeout(resolve, 50))
  t.equal((await store.getDevice('pkA', 'dev1'))?.online, null, 'the offline mark of a disconnect while it was down is written once it is back')
})

t.test('3: a registry that was never reachable', async t => {
  const unreachable = new RedisStore({ url: 'redis://127.0.0.1:1/0', keyPrefix })
  const aedes = await Aedes.createBroker()
  const plugin = homing(aedes, { instanceId: 'a', nodeId: 'auth-unreachable', store: unreachable })
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const p = typeof address === 'object' && address !== null ? address.port : 0
  t.teardown(async () => {
    server.close()
    await new Promise<void>(resolve => aedes.close(() => resolve()))
    await plugin.close()
    await unreachable.close()
  })
  t.equal(await connackCode(p, credentials(dev1!)), 3)
})
