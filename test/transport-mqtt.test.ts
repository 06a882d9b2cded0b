// The broker node's transports: mqtt, mqtts (TLS), ws and wss (MQTT over WebSocket at /mqtt). The
// same signed CONNECT is accepted on each, the same wrong one refused, the same topic fences hold,
// and securemode=2 (TLS) devices connect over TLS. The WebSocket handshake and payload limit, and
// the device address behind a trusted proxy, are checked at the edge.
import mqtt, { type IClientOptions } from 'mqtt'
import t from 'tap'
import WebSocket from 'ws'
import { startBrokerNode } from '../broker/node.js'
import { WS_MAX_PAYLOAD } from '../broker/listeners.js'
import { credentials as sdkCredentials } from '../device/credentials.js'
import { parseConfig } from '../shared/config.js'
import type { Certificate } from '../shared/types.js'
import { connackCode, makeDevices, suback, type Credentials } from './helpers/broker.js'
import { makeCerts } from './helpers/certs.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { within, WAIT_MS } from './helpers/wait.js'

const certs = makeCerts()
const { keyPrefix, store } = await openTestRegistry(t, 'transport')
const any = { host: '127.0.0.1', mqtt: 0, mqtts: 0, ws: 0, wss: 0, http: 0 }
const config = parseConfig({
  redis: REDIS_URL,
  keyPrefix,
  tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'transport-token-0123456789' }],
  instances: [
    { id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'localhost', port: 8883 }, listen: any },
    // Behind an HTTP proxy that it trusts for X-Forwarded-For.
    { id: 'p', region: 'r1', account: 'acme', endpoint: { host: 'localhost', port: 443 }, listen: { host: '127.0.0.1', ws: 0, trustProxy: true } }
  ]
})
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'transport-a' })
const proxied = await startBrokerNode({ config, instanceId: 'p', store, nodeId: 'transport-p' })
t.teardown(async () => {
  await node.close()
  await proxied.close()
  certs.remove()
})
const [lamp, other] = await makeDevices(store, 'pkT', ['lamp', 'other'], 'a') as [Certificate, Certificate]
const [behind] = await makeDevices(store, 'pkT', ['behind'], 'p') as [Certificate]

const TRANSPORTS = ['mqtt', 'mqtts', 'ws', 'wss'] as const
type Transport = typeof TRANSPORTS[number]

/** mqtt.js to one transport of a node; the client trusts the test root only. */
function url (transport: Transport, port: number): string {
  return `${transport}://${transport === 'mqtts' || transport === 'wss' ? 'localhost' : '127.0.0.1'}:${port}${transport.startsWith('ws') ? '/mqtt' : ''}`
}
const base: IClientOptions = { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, connectTimeout: 5000, ca: certs.root }

function connackOver (transport: Transport, creds: Credentials, port = node.ports[transport] as number, options: IClientOptions = {}): Promise<number> {
  return connackCode(url(transport, port), creds, { ca: certs.root, ...options })
}

t.test('every transport listens on its own port', async t => {
  const ports = TRANSPORTS.map(tr => node.ports[tr])
  t.ok(ports.every(p => typeof p === 'number' && p > 0))
  t.equal(new Set(ports).size, 4)
  t.throws(() => proxied.ports.mqtt, /no plain MQTT listener/, 'a node without plain MQTT says so when asked for its port')
})

t.test('a signed device gets CONNACK 0 over mqtt, mqtts, ws and wss; a wrong signature 4; an unknown device 4', async t => {
  for (const transport of TRANSPORTS) {
    t.equal(await connackOver(transport, sdkCredentials(lamp)), 0, `${transport}: signed, accepted`)
    t.equal(await connackOver(transport, sdkCredentials({ ...lamp, deviceSecret: 'not-the-secret' })), 4, `${transport}: wrong signature, refused`)
    t.equal(await connackOver(transport, sdkCredentials({ ...lamp, deviceName: 'nobody' })), 4, `${transport}: unknown device, refused`)
    t.equal(await connackOver(transport, { clientId: 'no-pipes', username: 'x', password: 'y' }), 2, `${transport}: unparsable identity, 2`)
  }
})

t.test('securemode=2 (TLS) devices connect over mqtts and wss, in the Link SDK and Node SDK forms', async t => {
  for (const transport of ['mqtts', 'wss'] as const) {
    t.equal(await connackOver(transport, sdkCredentials(lamp, { secureMode: 2 })), 0, `${transport}: Link SDK C form`)
    t.equal(await connackOver(transport, sdkCredentials(lamp, { secureMode: 2, form: 'node-sdk' })), 0, `${transport}: Node SDK form`)
  }
})

t.test('a device of another instance gets CONNACK 5 on every transport', async t => {
  for (const transport of TRANSPORTS) t.equal(await connackOver(transport, sdkCredentials(behind)), 5, transport)
})

t.test('the topic fences are the same on every transport: own topics granted, another device\'s refused', async t => {
  for (const transport of TRANSPORTS) {
    const client = await mqtt.connectAsync(url(transport, node.ports[transport] as number), { ...base, ...sdkCredentials(lamp) }, false)
    t.teardown(() => client.endAsync(true))
    const granted = await suback(client, {
      '/sys/pkT/lamp/thing/service/property/set': { qos: 0 },
      [`/sys/pkT/${other.deviceName}/thing/service/property/set`]: { qos: 0 }
    })
    t.same(granted, [0, 0x80], `${transport}: own topic granted, the other device's refused`)
  }
})

t.test('the TLS listeners send the intermediate with the leaf: a client trusting the root alone verifies them', async t => {
  t.equal(await connackOver('mqtts', sdkCredentials(lamp), node.ports.mqtts, { ca: certs.root, rejectUnauthorized: true }), 0)
  await t.rejects(connackOver('mqtts', sdkCredentials(lamp), node.ports.mqtts, { ca: undefined, rejectUnauthorized: true }), /certificate/)
})

/** The answer to a WebSocket handshake that the server refuses. */
function refusedHandshake (path: string, protocols: string[]): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.ports.ws}${path}`, protocols)
    ws.on('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    ws.on('open', () => { ws.close(); reject(new Error('handshake accepted')) })
    ws.on('error', () => {})
  })
}

t.test('WebSocket: only /mqtt, only subprotocol mqtt; plain HTTP is told to upgrade', async t => {
  const wrongPath = await refusedHandshake('/ws', ['mqtt'])
  t.equal(wrongPath.status, 404)
  t.match(JSON.parse(wrongPath.body), { error: { message: /use \/mqtt/ } })
  const wrongProtocol = await refusedHandshake('/mqtt', ['chat'])
  t.equal(wrongProtocol.status, 400)
  t.match(JSON.parse(wrongProtocol.body), { error: { message: /subprotocol must be "mqtt"/ } })
  const plain = await fetch(`http://127.0.0.1:${node.ports.ws}/mqtt`)
  t.equal(plain.status, 426)
  t.equal(plain.headers.get('upgrade'), 'websocket')

  const accepted = new WebSocket(`ws://127.0.0.1:${node.ports.ws}/mqtt`, ['mqtt'])
  await within(WAIT_MS, new Promise((resolve, reject) => { accepted.once('open', resolve); accepted.once('error', reject) }), 'the WebSocket with subprotocol mqtt to open')
  t.equal(accepted.protocol, 'mqtt', 'the server selects mqtt [MQTT-6.0.0-4]')
  accepted.close()
})

t.test('WebSocket: a message above the payload limit closes the connection with 1009', async t => {
  const ws = new WebSocket(`ws://127.0.0.1:${node.ports.ws}/mqtt`, ['mqtt'])
  await within(WAIT_MS, new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) }), 'the WebSocket to open')
  const closed = new Promise<number>(resolve => ws.once('close', code => resolve(code)))
  ws.send(Buffer.alloc(WS_MAX_PAYLOAD + 1))
  t.equal(await within(WAIT_MS, closed, 'the server to close a WebSocket whose message is above the limit'), 1009)
})

t.test('the device address: X-Forwarded-For only where the listener trusts its proxy', async t => {
  const forwarded = { wsOptions: { headers: { 'X-Forwarded-For': '198.51.100.23, 10.0.0.2' } } }
  const viaProxy = await mqtt.connectAsync(url('ws', proxied.ports.ws as number), { ...base, ...sdkCredentials(behind), ...forwarded }, false)
  t.teardown(() => viaProxy.endAsync(true))
  t.equal((await store.getDevice('pkT', 'behind'))?.runtime.p?.lastAddress, '198.51.100.23', 'trusted: the first public hop from the right')
  const direct = await mqtt.connectAsync(url('ws', node.ports.ws as number), { ...base, ...sdkCredentials(other), ...forwarded }, false)
  t.teardown(() => direct.endAsync(true))
  t.equal((await store.getDevice('pkT', 'other'))?.runtime.a?.lastAddress, '127.0.0.1', 'not trusted: the socket\'s peer')
})
