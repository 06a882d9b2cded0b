// docs/distribution.md, "Rule 5"-7 with real broker nodes: a device online at the source when a nearest job runs is
// notified and disconnected at once; until it is placed every CONNECT gets CONNACK 5; its bootstrap
// places it; then its CONNECT is accepted at the placed instance only, and activates it there.
import type { MqttClient } from 'mqtt'
import t from 'tap'
import { startBrokerNode, type BrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { parseConfig } from '../shared/config.js'
import type { Certificate } from '../shared/types.js'
import { closed, connackCode, connectDevice, credentials } from './helpers/broker.js'
import { REDIS_URL } from './helpers/redis.js'
import { FRANKFURT, SILICON_VALLEY } from './helpers/regions.js'
import { openTestRegistry } from './helpers/registry.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'
import { untilAsync, WAIT_MS, within } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'nearest-connect')
const instance = (id: string, region: string) => ({
  id, region, account: 'acme', endpoint: { host: `mqtt.${id}.test`, port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0 }
})
const config = parseConfig({
  redis: REDIS_URL,
  keyPrefix,
  bootstrap: { host: '127.0.0.1', port: 0, trustProxy: true },
  broker: { notifyTimeoutMs: 1000 },
  regions: [FRANKFURT, SILICON_VALLEY],
  accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKENS.acme }],
  instances: [instance('src', 'eu-central-1'), instance('eu', 'eu-central-1'), instance('us', 'us-west-1')]
})
const nodes = new Map<string, BrokerNode>()
for (const id of ['src', 'eu', 'us']) nodes.set(id, await startBrokerNode({ config, instanceId: id, store, nodeId: `nc-${id}` }))
const ts = await startTestSidecar(store, config, { jobs: true })
t.teardown(async () => {
  await ts.close()
  for (const node of nodes.values()) await node.close()
})
const acme = apiClient(ts.url, TOKENS.acme)
const port = (id: string): number => nodes.get(id)!.ports.mqtt

const PK = 'a1NearConn1'
await acme('POST', '/products', { instanceId: 'src', name: 'Tracker', productKey: PK })
const certs = (await acme('POST', `/products/${PK}/devices`, { instanceId: 'src', deviceNames: ['roamer-1', 'roamer-2'] })).json.certificates as Certificate[]
const cert = (dn: string): Certificate => certs.find(c => c.deviceName === dn)!

/** Answers notify the way the Link SDK does (it never subscribed to it). */
function answerNotifies (client: MqttClient, dn: string): void {
  client.on('message', (topic, payload) => {
    if (topic === `/sys/${PK}/${dn}/thing/bootstrap/notify`) client.publish(`/sys/${PK}/${dn}/thing/bootstrap/notify_reply`, notifyReplyPayload(messageId(payload) ?? ''))
  })
}

/** The instance the bootstrap names, by the endpoint host it hands out. */
async function bootstrap (dn: string, forwardedFor: string): Promise<string | null> {
  const res = await fetch(`${ts.url}/auth/bootstrap`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': forwardedFor },
    body: `productKey=${PK}&deviceName=${dn}&clientId=${PK}.${dn}`
  })
  const host = ((await res.json()) as { data?: { resources?: { mqtt?: { host?: string } } } }).data?.resources?.mqtt?.host
  return /^mqtt\.(.+)\.test$/.exec(host ?? '')?.[1] ?? null
}

t.test('an online device is notified and disconnected at job time, refused everywhere until placed, then accepted only where it was placed', async t => {
  const client = await connectDevice(port('src'), cert('roamer-1'))
  answerNotifies(client, 'roamer-1')
  const gone = closed(client)
  const res = await acme('POST', '/distribution/jobs', {
    method: 'this-account',
    policy: 'nearest',
    sourceInstanceId: 'src',
    productKey: PK,
    deviceNames: ['roamer-1'],
    targets: [{ region: 'eu-central-1', instanceId: 'eu' }, { region: 'us-west-1', instanceId: 'us' }]
  })
  t.equal(res.status, 202)
  await within(WAIT_MS, gone, 'the broker to disconnect the online device when its job started')
  t.pass('notified and disconnected at once')
  const jobId = res.json.jobId as string
  const csv = async (): Promise<string> => (await acme('GET', `/distribution/jobs/${jobId}/records`)).text
  await untilAsync(async () => (await csv()).includes('disconnected'), 10_000, 'a record saying the device was disconnected')

  for (const id of ['src', 'eu', 'us']) {
    t.equal(await connackCode(port(id), credentials(cert('roamer-1'))), 5, `CONNACK 5 at ${id} before placement`)
  }

  t.equal(await bootstrap('roamer-1', '8.8.8.8'), 'us', 'placed in the US, nearest to 8.8.8.8')
  const placed = await connectDevice(port('us'), cert('roamer-1'))
  t.teardown(() => placed.endAsync())
  t.pass('CONNACK 0 at the placed instance')
  t.equal(await connackCode(port('eu'), credentials(cert('roamer-1'))), 5, 'CONNACK 5 at the other target')
  t.equal(await connackCode(port('src'), credentials(cert('roamer-1'))), 5, 'CONNACK 5 at the source')

  const device = await acme('GET', `/products/${PK}/devices/roamer-1`)
  t.match(device.json, { instanceId: 'us', status: 'online', active: true, placement: { instanceId: 'us', fallback: false, address: '8.8.8.8' } }, 'its first CONNECT activated it there')
  t.match(await csv(), `${PK},roamer-1,success,"moved to nearest placement; online; notified; answered; disconnected; placed at us (us-west-1), nearest to 8.8.8.8"`, 'one record says it all: the kick and the placement')
})

t.test('an offline device is placed at its first bootstrap, from an IPv6 address', async t => {
  const res = await acme('POST', '/distribution/jobs', {
    method: 'this-account',
    policy: 'nearest',
    sourceInstanceId: 'src',
    productKey: PK,
    deviceNames: ['roamer-2'],
    targets: [{ region: 'us-west-1', instanceId: 'us' }, { region: 'eu-central-1', instanceId: 'eu' }]
  })
  await untilAsync(async () => (await acme('GET', `/distribution/jobs/${res.json.jobId}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
  t.equal(await connackCode(port('eu'), credentials(cert('roamer-2'))), 5)
  t.equal(await bootstrap('roamer-2', '2a00:1450:4001:81b::200e'), 'eu')
  const client = await connectDevice(port('eu'), cert('roamer-2'))
  await client.endAsync()
  t.equal(await connackCode(port('us'), credentials(cert('roamer-2'))), 5)
})
