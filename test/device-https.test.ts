// docs/protocol.md, "Bootstrap" over TLS: the device library bootstraps against the sidecar's HTTPS listener, trusting
// the deployment's CA (the one change a device gets besides the host), and refuses a server it
// cannot verify.
import t from 'tap'
import { Topology, parseConfig } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { startBrokerNode } from '../broker/node.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { bootstrap, BootstrapError } from '../device/bootstrap.js'
import { DeviceClient, type ConnectedEvent } from '../device/client.js'
import { makeCerts } from './helpers/certs.js'
import { within, WAIT_MS } from './helpers/wait.js'

const certs = makeCerts()
t.teardown(() => certs.remove())

const raw = (mqttPort: number) => ({
  bootstrap: { host: '127.0.0.1', port: 0 },
  tls: { cert: certs.cert, key: certs.key, ca: certs.ca },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'acme-token-0123456789' }],
  instances: [{ id: 'iot-a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: mqttPort }, listen: { host: '127.0.0.1', mqtt: 0 } }]
})

const store = new MemoryStore()
const broker = await startBrokerNode({ config: parseConfig(raw(1)), instanceId: 'iot-a', store, log: silentLogger, ports: { mqtt: 0 } })
const config = parseConfig(raw(broker.ports.mqtt))
const sidecar = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger }, { host: '127.0.0.1', port: 0, httpsPort: 0 })
t.teardown(async () => {
  await sidecar.close()
  await broker.close()
  await store.close()
})
const device = newDevice('a1tlsProd', 'dev-tls', 'iot-a')
await store.createDevices([device])
const url = `https://localhost:${sidecar.httpsPort}`
const query = { productKey: device.productKey, deviceName: device.deviceName }

t.test('bootstrap over HTTPS with the deployment CA gives the endpoint', async t => {
  t.same(await bootstrap(query, { url, ca: certs.root }), { host: '127.0.0.1', port: broker.ports.mqtt })
})

t.test('a server the device cannot verify is refused before anything is sent', async t => {
  const err = await bootstrap(query, { url }).then(() => null, (e: unknown) => e as BootstrapError)
  t.ok(err instanceof BootstrapError)
  t.equal(err?.status, null)
  t.match(err?.message ?? '', /unreachable/)
  t.match(String((err?.cause as Error | undefined)?.message), /certificate/)
})

t.test('a DeviceClient given an https bootstrap URL reaches CONNACK 0', async t => {
  const client = new DeviceClient({ certificate: device, bootstrapUrl: url, ca: certs.root })
  t.teardown(() => client.stop())
  const connected = new Promise<ConnectedEvent>(resolve => client.once('connected', resolve))
  await client.start()
  t.equal((await within(WAIT_MS, connected, 'the device client to connect')).endpoint.port, broker.ports.mqtt)
})
