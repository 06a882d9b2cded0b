// A disabled or deleted device is taken offline at once by whichever broker node of its instance
// holds it, over the real Redis: two nodes of instance a, the sidecar's API beside them. While
// disabled its CONNECTs get 5 on every node; enabled, it connects again at once; distributed while
// disabled, it stays disabled at the destination.
import type { MqttClient } from 'mqtt'
import t, { type Test } from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { Metrics } from '../shared/metrics/metrics.js'
import { brokerConfig, closed, connackCode, connectDevice, credentials, nextMessage } from './helpers/broker.js'
import { openTestRegistry } from './helpers/registry.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { apiClient, startTestSidecar } from './helpers/test-sidecar.js'
import type { Certificate } from '../shared/types.js'

const { keyPrefix, store } = await openTestRegistry(t, 'disable')
const config = brokerConfig(keyPrefix, { broker: { notifyTimeoutMs: 300 } })
config.bootstrap.host = '127.0.0.1'
config.bootstrap.jobPollMs = 50
const metrics = { a1: new Metrics({ defaults: false }), a2: new Metrics({ defaults: false }) }
const a1 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'disable-a1', metrics: metrics.a1 })
const a2 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'disable-a2', metrics: metrics.a2 })
const b1 = await startBrokerNode({ config, instanceId: 'b', store, nodeId: 'disable-b1' })
const sidecar = await startTestSidecar(store, config, { jobs: true })
t.teardown(async () => {
  await sidecar.close()
  for (const node of [a1, a2, b1]) await node.close()
})

const acme = apiClient(sidecar.url, 'acme-token-0123456789')
const PK = 'a1disBroker1'
await acme('POST', '/products', { instanceId: 'a', name: 'Lamp', productKey: PK })
const created = await acme('POST', `/products/${PK}/devices`, { instanceId: 'a', deviceNames: ['kept-001', 'cut-0001', 'deleted-1', 'moving-01', 'racing-01'] })
const certs: Certificate[] = created.json.certificates
const cert = (dn: string): Certificate => certs.find(c => c.deviceName === dn) as Certificate

/** Connected until the end of test `t`. */
async function online (t: Test, dn: string, port: number): Promise<MqttClient> {
  const client = await connectDevice(port, cert(dn))
  t.teardown(() => client.endAsync())
  return client
}

/** Rejects with `what` when `promise` has not settled within `ms`. */
async function within<T> (ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

async function alive (client: MqttClient, dn: string): Promise<boolean> {
  const topic = `/${PK}/${dn}/user/alive`
  await client.subscribeAsync(topic)
  const message = nextMessage(client, topic)
  await client.publishAsync(topic, 'ping', { qos: 1 })
  return (await within(2000, `${dn}'s own message coming back`, message)).toString() === 'ping'
}

async function disconnects (m: Metrics, reason: string): Promise<number> {
  return (await m.deviceDisconnects.get()).values.find(v => v.labels.reason === reason && v.labels.instance === 'a')?.value ?? 0
}

t.test('a disabled device is disconnected within a second by the node holding it; CONNACK 5 everywhere; enabled, it connects at once', async t => {
  const kept = await online(t, 'kept-001', a1.ports.mqtt)
  const device = await online(t, 'cut-0001', a2.ports.mqtt)
  let notified = false
  device.on('message', topic => { if (topic.endsWith('/thing/bootstrap/notify')) notified = true })
  const gone = closed(device)
  const asked = Date.now()
  const res = await acme('POST', `/products/${PK}/devices/cut-0001/disable`)
  t.equal(res.status, 200)
  t.equal(res.json.status, 'disabled')
  await within(1000, 'the disabled device\'s disconnect', gone)
  t.pass(`disconnected by node a2 within a second (${Date.now() - asked} ms after the request)`)
  t.equal(notified, false, 'no notify: it has nowhere to go')
  t.ok(await alive(kept, 'kept-001'), 'another device on the other node stays connected')

  t.equal(await connackCode(a1.ports.mqtt, credentials(cert('cut-0001'))), 5, 'CONNACK 5 at a1')
  t.equal(await connackCode(a2.ports.mqtt, credentials(cert('cut-0001'))), 5, 'CONNACK 5 at a2')
  const answer = readStrict((await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: 'cut-0001', clientId: `${PK}.cut-0001` })))).raw)
  t.equal(answer.status, 403)
  t.equal(answer.body, '{"code":403,"message":"device disabled"}')
  t.equal(await disconnects(metrics.a2, 'disabled'), 1, 'counted by the node that held it')
  t.equal(await disconnects(metrics.a1, 'disabled'), 0, 'the other node had nothing to do')

  t.equal((await acme('POST', `/products/${PK}/devices/cut-0001/enable`)).status, 200)
  const back = await online(t, 'cut-0001', a1.ports.mqtt)
  t.ok(await alive(back, 'cut-0001'), 'connected again right after enable')
  t.equal((await acme('GET', `/products/${PK}/devices/cut-0001`)).json.status, 'online')
})

t.test('deleting an online device disconnects it; its next CONNECT gets 4', async t => {
  const device = await online(t, 'deleted-1', a1.ports.mqtt)
  const gone = closed(device)
  t.equal((await acme('DELETE', `/products/${PK}/devices/deleted-1`)).status, 204)
  await within(1000, 'the deleted device\'s disconnect', gone)
  t.pass('disconnected within a second')
  t.equal(await connackCode(a2.ports.mqtt, credentials(cert('deleted-1'))), 4)
  t.equal(await disconnects(metrics.a1, 'deleted'), 1)
})

t.test('a device distributed while disabled stays disabled at the destination, whose owner may enable it', async t => {
  await acme('POST', `/products/${PK}/devices/moving-01/disable`)
  const job = await acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'a', targetInstanceId: 'b', productKey: PK, deviceNames: ['moving-01'] })
  t.equal(job.status, 202, job.text)
  const deadline = Date.now() + 5000
  let status = ''
  while (status !== 'distributed' && Date.now() < deadline) {
    status = (await acme('GET', `/distribution/jobs/${job.json.jobId as string}`)).json.status
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.equal(status, 'distributed', 'the job ran')
  t.match((await acme('GET', `/products/${PK}/devices/moving-01`)).json, { instanceId: 'b', status: 'disabled' })
  t.equal(await connackCode(b1.ports.mqtt, credentials(cert('moving-01'))), 5, 'CONNACK 5 at the destination')
  t.equal((await acme('POST', `/products/${PK}/devices/moving-01/enable?instanceId=b`)).status, 200)
  t.equal(await connackCode(b1.ports.mqtt, credentials(cert('moving-01'))), 0, 'enabled at the destination: connects')
})

t.test('a CONNECT racing a disable is either refused with 5 or disconnected: never left online', async t => {
  const disable = `/products/${PK}/devices/racing-01/disable`
  const outcomes: number[] = []
  for (let round = 0; round < 10; round++) {
    const port = round % 2 === 0 ? a1.ports.mqtt : a2.ports.mqtt
    const [attempt] = await Promise.all([
      connectDevice(port, cert('racing-01')).then(client => ({ client, code: 0 }), (err: { code?: number }) => ({ client: null, code: err.code })),
      new Promise(resolve => setTimeout(resolve, round)).then(() => acme('POST', disable))
    ])
    if (attempt.client !== null) await within(1000, `round ${round}: the racing connection's disconnect`, closed(attempt.client))
    else t.equal(attempt.code, 5, `round ${round}: refused with 5`)
    await within(1000, `round ${round}: the registry's offline mark`, (async () => {
      while ((await acme('GET', `/products/${PK}/devices/racing-01`)).json.online !== false) await new Promise(resolve => setTimeout(resolve, 20))
    })())
    outcomes.push(attempt.code ?? -1)
    await acme('POST', `/products/${PK}/devices/racing-01/enable`)
  }
  t.comment(`CONNACK per round: ${outcomes.join(' ')}`)
})
