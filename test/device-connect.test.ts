// device/connect.ts, the paths a plain-TCP test never takes: MQTT over TLS with the CA a device is
// given (and a refusal of a server it cannot verify), and the Link SDK's fallback to the endpoint's
// `ip` when the host name does not resolve.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { connect, ConnectFailedError } from '../device/connect.js'
import { credentials } from '../device/credentials.js'
import { parseConfig } from '../shared/config.js'
import type { Certificate } from '../shared/types.js'
import { makeDevices } from './helpers/broker.js'
import { makeCerts } from './helpers/certs.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'

const certs = makeCerts()
const { keyPrefix, store } = await openTestRegistry(t, 'device-connect')
const config = parseConfig({
  redis: REDIS_URL,
  keyPrefix,
  tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'device-connect-token-0123' }],
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'localhost', port: 8883 }, listen: { host: '127.0.0.1', mqtt: 0, mqtts: 0 } }]
})
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'device-connect-a' })
t.teardown(async () => {
  await node.close()
  certs.remove()
})
const [lamp] = await makeDevices(store, 'pkDC', ['lamp'], 'a') as [Certificate]
const onMessage = (): void => {}

t.test('over TLS, a device that trusts the root CA connects to "localhost" (securemode=2)', async t => {
  const client = await connect({
    endpoint: { host: 'localhost', port: node.ports.mqtts as number },
    credentials: credentials(lamp, { secureMode: 2 }),
    keepalive: 60,
    connectTimeoutMs: 5000,
    tls: { ca: certs.root },
    onMessage
  })
  t.teardown(() => { client.end(true) })
  t.ok(client.connected, 'CONNACK 0 over TLS')
  t.equal((client.stream as unknown as { encrypted?: boolean }).encrypted, true, 'the socket is a TLS socket')
})

t.test('over TLS, a server the device cannot verify is refused before any CONNECT', async t => {
  await t.rejects(connect({
    endpoint: { host: 'localhost', port: node.ports.mqtts as number },
    credentials: credentials(lamp, { secureMode: 2 }),
    keepalive: 60,
    connectTimeoutMs: 5000,
    tls: { ca: readFileSync(certs.ca) }, // the intermediate alone is not a trust anchor
    onMessage
  }), ConnectFailedError)
})

t.test('a host name that does not resolve falls back to the endpoint\'s ip, as the Link SDK does', async t => {
  const client = await connect({
    // .invalid never resolves (RFC 2606); the first attempt fails on DNS, the retry uses the ip.
    endpoint: { host: 'mqtt.homing-test.invalid', port: node.ports.mqtt, ip: '127.0.0.1' },
    credentials: credentials(lamp),
    keepalive: 60,
    connectTimeoutMs: 10_000,
    onMessage
  })
  t.teardown(() => { client.end(true) })
  t.ok(client.connected, 'connected through the ip')
})

t.test('without an ip, a host name that does not resolve fails the connect', async t => {
  await t.rejects(connect({
    endpoint: { host: 'mqtt.homing-test.invalid', port: node.ports.mqtt },
    credentials: credentials(lamp),
    keepalive: 60,
    connectTimeoutMs: 5000,
    onMessage
  }), ConnectFailedError)
})
