// docs/operations.md, "Redis outage", registry down: a Redis of the test's own is stopped and started again under a
// running sidecar (with its job runner) and a broker node. Meanwhile bootstrap answers 503 in the
// docs/protocol.md, "Bootstrap" form, CONNECT gets CONNACK 3, and a device already connected stays connected; once
// Redis is back both answer again by themselves, and the job that was waiting is done, its online
// device kicked by the broker that lived through the outage.
import type { MqttClient, Packet } from 'mqtt'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { parseConfig, Topology } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { Metrics, observedStore } from '../shared/metrics/index.js'
import { openRedisStore } from '../shared/store/redis.js'
import { connackCode, connectDevice, credentials, nextMessage } from './helpers/broker.js'
import { ownRedis } from './helpers/redis-server.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { apiClient } from './helpers/test-sidecar.js'
import { within, WAIT_MS } from './helpers/wait.js'

const TOKEN = 'outage-token-0123456789'
const redis = await ownRedis()
await redis.start()
t.teardown(() => redis.remove())

const config = parseConfig({
  redis: redis.url,
  keyPrefix: 'outage:',
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 100 },
  // Short keepalives: the client's pings during the outage show that the broker still answers it.
  broker: { keepaliveMin: 1, notifyTimeoutMs: 200, connectionSampleMs: 200 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
  instances: [
    { id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'mqtt-a.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0 } },
    { id: 'b', region: 'r1', account: 'acme', endpoint: { host: 'mqtt-b.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0 } }
  ]
})

const metrics = new Metrics({ defaults: false })
const store = observedStore(await openRedisStore({ url: redis.url, keyPrefix: config.keyPrefix }), metrics)
const topology = new Topology(config)
const sidecar = await startSidecar({ config, topology, store, log: silentLogger, metrics })
const broker = await startBrokerNode({ config, instanceId: 'a', nodeId: 'outage-a1' })
// Started only once the registry is down: the job must wait for it, not be lost.
const runner = new JobRunner({ store, topology, pollMs: 100 })
t.teardown(async () => {
  await runner.close()
  await sidecar.close()
  await broker.close()
  await store.close()
})

const api = apiClient(`http://127.0.0.1:${sidecar.port}`, TOKEN)
const PK = 'a1outage001'
if ((await api('POST', '/products', { instanceId: 'a', name: 'Lamp', productKey: PK })).status !== 201) throw new Error('product not created')
const created = await api('POST', `/products/${PK}/devices`, { instanceId: 'a', deviceNames: ['online', 'newcomer', 'moved-offline'] })
const cert = (dn: string) => created.json.certificates.find((c: { deviceName: string }) => c.deviceName === dn)

const bootstrap = async (dn: string) => readStrict((await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: dn })))).raw)
const readyz = async () => (await fetch(`http://127.0.0.1:${sidecar.port}/readyz`)).status
const registryErrors = async () => (await metrics.registry.getSingleMetric('homing_registry_errors_total')?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0

async function eventually (check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`not recovered: ${what}`)
}

/** Counts PINGRESPs and notes a close. */
function watch (client: MqttClient): { pongs: () => number, closed: () => boolean } {
  let pongs = 0
  let closed = false
  client.on('packetreceive', (packet: Packet) => { if (packet.cmd === 'pingresp') pongs++ })
  client.on('close', () => { closed = true })
  return { pongs: () => pongs, closed: () => closed }
}

t.test('Redis stopped and started: 503 and CONNACK 3 meanwhile, the live connection stays, both recover, the job is done', async t => {
  const online = await connectDevice(broker.ports.mqtt, cert('online'), { keepalive: 1 })
  t.teardown(() => online.endAsync(true))
  const seen = watch(online)
  t.equal((await bootstrap('newcomer')).status, 200, 'bootstrap answers while Redis is up')

  // A job stored while Redis is up, before any runner saw it.
  const job = await api('POST', '/distribution/jobs', {
    method: 'this-account', policy: 'region', sourceInstanceId: 'a', targetInstanceId: 'b', productKey: PK, deviceNames: ['online', 'moved-offline']
  })
  t.equal(job.status, 202)

  await redis.stop()
  const stoppedAt = Date.now()
  runner.start()

  const down = await bootstrap('newcomer')
  t.same(down.violations, [], 'the 503 passes the strict reader')
  t.equal(down.status, 503)
  t.equal(down.body, '{"code":503,"message":"registry unavailable, retry later"}')
  t.equal(down.headers.get('retry-after'), '1')
  t.equal(await connackCode(broker.ports.mqtt, credentials(cert('newcomer'))), 3, 'a new CONNECT gets CONNACK 3')
  t.equal(await readyz(), 503, '/readyz says not ready')
  t.equal((await fetch(`http://127.0.0.1:${sidecar.port}/healthz`)).status, 200, '/healthz: the process is up')

  // The connected device keeps pinging through the outage (keepalive 1 s) and is answered.
  const before = seen.pongs()
  await new Promise(resolve => setTimeout(resolve, 2500))
  t.ok(seen.pongs() > before, 'PINGREQs are answered while Redis is down')
  t.notOk(seen.closed(), 'the established connection stays up')
  t.ok(await registryErrors() > 0, 'registry errors are counted')
  t.equal((await api('GET', `/distribution/jobs/${job.json.jobId}`)).status, 503)

  const notify = nextMessage(online, `/sys/${PK}/online/thing/bootstrap/notify`)
  const startedAt = Date.now()
  await redis.start()
  await eventually(async () => (await bootstrap('newcomer')).status === 200, 'bootstrap')
  t.pass('bootstrap answers 200 again, no restart')
  await eventually(async () => await connackCode(broker.ports.mqtt, credentials(cert('newcomer'))) === 0, 'CONNECT')
  t.pass('CONNECT is accepted again, no restart')
  t.equal(await readyz(), 200)

  await eventually(async () => (await api('GET', `/distribution/jobs/${job.json.jobId}`)).json.status === 'distributed', 'the job')
  const done = await api('GET', `/distribution/jobs/${job.json.jobId}`)
  t.match(done.json, { status: 'distributed', counts: { total: 2, succeeded: 2, failed: 0 } }, 'the job stored before the outage ran to the end')
  t.ok(await within(WAIT_MS, notify, `online to receive a message on /sys/${PK}/online/thing/bootstrap/notify`), 'the device that stayed connected is told about its move by the broker that lived through the outage')
  t.match((await bootstrap('online')).body, /"host":"mqtt-b.example.com"/, 'and bootstraps to its new instance')
  // docs/operations.md, "Connections over time": the samples the node took meanwhile were kept and written later.
  const during = async (): Promise<number[]> => ((await store.connectionHistory('a', stoppedAt)).find(n => n.nodeId === 'outage-a1')?.samples ?? [])
    .filter(s => s.at > stoppedAt && s.at < startedAt).map(s => s.connections)
  await eventually(async () => (await during()).length > 0, 'the connection samples taken during the outage to be written')
  t.ok((await during()).every(n => n === 1), 'the node\'s connection samples of the outage show the device that stayed')
})

t.test('a Redis that hangs (SIGSTOP): bootstrap answers 503 within the command timeout rather than hanging, then recovers', async t => {
  redis.pause()
  t.teardown(() => redis.resume())
  const answer = await bootstrap('newcomer')
  t.equal(answer.status, 503)
  t.same(answer.violations, [])
  redis.resume()
  await eventually(async () => (await bootstrap('newcomer')).status === 200, 'bootstrap after SIGCONT')
  t.pass('200 again once Redis runs')
})
