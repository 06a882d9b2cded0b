// `homing up` without Redis: the memory store's event log takes a disabled or deleted device
// offline the same way (one process: the sidecar and a broker node over one MemoryStore).
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { MemoryStore } from '../shared/store/memory.js'
import type { Certificate } from '../shared/types.js'
import { closed, connackCode, connectDevice, credentials } from './helpers/broker.js'
import { apiClient, startTestSidecar, testConfig, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const config = testConfig()
const sidecar = await startTestSidecar(store, config)
const node = await startBrokerNode({ config, instanceId: 'iot-sh-1', store, nodeId: 'memory-sh-1', ports: { mqtt: 0 } })
t.teardown(async () => {
  await node.close()
  await sidecar.close()
})
const acme = apiClient(sidecar.url, TOKENS.acme)
const PK = 'a1memDisable'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })
const certs = (await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['mem-0001', 'mem-0002'] })).json.certificates as Certificate[]
const cert = (dn: string): Certificate => certs.find(c => c.deviceName === dn) as Certificate

function within (ms: number, what: string, promise: Promise<void>): Promise<void> {
  return Promise.race([promise, new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref())])
}

t.test('disabled: disconnected at once and refused with 5; enabled: connects again', async t => {
  const device = await connectDevice(node.ports.mqtt, cert('mem-0001'))
  const gone = closed(device)
  t.equal((await acme('POST', `/products/${PK}/devices/mem-0001/disable`)).status, 200)
  await within(1000, 'the disabled device\'s disconnect', gone)
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('mem-0001'))), 5)
  t.equal((await acme('POST', `/products/${PK}/devices/mem-0001/enable`)).status, 200)
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('mem-0001'))), 0)
})

t.test('deleted while online: disconnected at once, then refused with 4', async t => {
  const device = await connectDevice(node.ports.mqtt, cert('mem-0002'))
  const gone = closed(device)
  t.equal((await acme('DELETE', `/products/${PK}/devices/mem-0002`)).status, 204)
  await within(1000, 'the deleted device\'s disconnect', gone)
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('mem-0002'))), 4)
})
