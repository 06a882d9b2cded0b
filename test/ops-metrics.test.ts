// /healthz, /readyz and /metrics on the sidecar's port and on a broker's listen.http: the metrics are
// there in Prometheus text format and move with traffic (bootstrap answers and latency, API
// answers, CONNACK codes, connections, notify and kick, job progress), with no device names in them.
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { credentials } from '../device/credentials.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { parseConfig, Topology } from '../shared/config.js'
import { silentLogger } from '../shared/log.js'
import { Metrics, observedStore, observeJobs } from '../shared/metrics/index.js'
import { MemoryStore } from '../shared/store/memory.js'
import { closed, connackCode, connect } from './helpers/broker.js'
import { exchange, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { apiClient } from './helpers/test-sidecar.js'
import { eventually, within, WAIT_MS } from './helpers/wait.js'

const TOKEN = 'metrics-token-0123456789'
const config = parseConfig({
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 50 },
  broker: { notifyTimeoutMs: 1000 },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: TOKEN }],
  instances: [
    { id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'mqtt-a.example.com', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0, http: 0 } },
    { id: 'b', region: 'r1', account: 'acme', endpoint: { host: 'mqtt-b.example.com', port: 1883 } }
  ]
})
// One process, one registry of metrics, as `homing up` runs it.
const metrics = new Metrics()
const store = observedStore(new MemoryStore(), metrics)
observeJobs(metrics, store)
const topology = new Topology(config)
const sidecar = await startSidecar({ config, topology, store, log: silentLogger, metrics })
const broker = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'metrics-a', metrics })
const runner = new JobRunner({ store, topology, pollMs: 50 })
t.teardown(async () => {
  await runner.close()
  await broker.close()
  await sidecar.close()
})
const api = apiClient(`http://127.0.0.1:${sidecar.port}`, TOKEN)
const PK = 'a1metrics01'
const NAMES = ['lamp-0001', 'lamp-0002']

async function scrape (port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  if (!(res.headers.get('content-type') ?? '').startsWith('text/plain; version=0.0.4')) throw new Error(`content type ${res.headers.get('content-type') ?? ''}`)
  return res.text()
}

/** The value of one sample, `name{labels}` as Prometheus prints it; 0 when absent. */
function sample (text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const have = (match[2] ?? '').split(',').filter(l => l !== '')
    if (want.every(w => have.includes(w)) && have.length === want.length) return Number(match[3])
  }
  return 0
}

t.test('health and readiness on the sidecar\'s port and on the broker\'s listen.http', async t => {
  for (const port of [sidecar.port, broker.ports.http as number]) {
    const health = await fetch(`http://127.0.0.1:${port}/healthz`)
    t.equal(health.status, 200)
    t.same(await health.json(), { status: 'ok' })
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
    t.equal(ready.status, 200)
    t.same(await ready.json(), { status: 'ready' })
  }
  t.equal((await fetch(`http://127.0.0.1:${broker.ports.http as number}/nope`)).status, 404)
  t.equal((await fetch(`http://127.0.0.1:${broker.ports.http as number}/healthz`, { method: 'POST' })).status, 405)
})

t.test('metrics move with traffic: bootstrap, API, CONNECT, connections, notify and kick, job progress', async t => {
  const before = await scrape(sidecar.port)
  t.match(before, /# TYPE homing_bootstrap_requests_total counter/)
  t.match(before, /# TYPE homing_bootstrap_request_duration_seconds histogram/)
  t.match(before, /process_open_fds|process_resident_memory_bytes/, 'process metrics for sizing')

  // API: product and devices (201), a refused token (401).
  t.equal((await api('POST', '/products', { instanceId: 'a', name: 'Lamp', productKey: PK })).status, 201)
  const created = await api('POST', `/products/${PK}/devices`, { instanceId: 'a', deviceNames: NAMES })
  t.equal(created.status, 201)
  t.equal((await apiClient(`http://127.0.0.1:${sidecar.port}`, 'wrong-token-0123456789')('GET', '/instances')).status, 401)
  // Bootstrap: 200, 404 and 400.
  await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: 'lamp-0001' })))
  await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: 'lamp-0001' })))
  await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: 'nobody' })))
  await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK })))
  // CONNECT: one accepted and held, one wrong signature.
  const [lamp] = created.json.certificates
  const device = await connect(broker.ports.mqtt, credentials(lamp))
  t.teardown(() => device.endAsync(true))
  t.equal(await connackCode(broker.ports.mqtt, credentials({ ...lamp, deviceSecret: 'wrong' })), 4)

  const after = await scrape(sidecar.port)
  t.equal(sample(after, 'homing_bootstrap_requests_total', { code: '200' }) - sample(before, 'homing_bootstrap_requests_total', { code: '200' }), 2)
  t.equal(sample(after, 'homing_bootstrap_requests_total', { code: '404' }), 1)
  t.equal(sample(after, 'homing_bootstrap_requests_total', { code: '400' }), 1)
  t.equal(sample(after, 'homing_bootstrap_request_duration_seconds_count'), 4, 'every bootstrap answer timed')
  t.equal(sample(after, 'homing_api_requests_total', { code: '201' }), 2)
  t.equal(sample(after, 'homing_api_requests_total', { code: '401' }), 1)
  t.equal(sample(after, 'homing_mqtt_connects_total', { instance: 'a', code: '0' }), 1)
  t.equal(sample(after, 'homing_mqtt_connects_total', { instance: 'a', code: '4' }), 1)
  t.equal(sample(after, 'homing_mqtt_connections', { instance: 'a' }), 1, 'the held connection')
  t.equal(sample(after, 'homing_transport_sockets', { transport: 'mqtt' }), 1)

  // A job, seen waiting before any runner takes it, then done: the online device notified and kicked.
  device.subscribe(`/sys/${PK}/lamp-0001/thing/bootstrap/notify`)
  device.on('message', (topic, payload) => {
    if (topic.endsWith('/notify')) device.publish(`/sys/${PK}/lamp-0001/thing/bootstrap/notify_reply`, notifyReplyPayload(messageId(payload) ?? ''))
  })
  const job = await api('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'a', targetInstanceId: 'b', productKey: PK, deviceNames: NAMES })
  t.equal(job.status, 202)
  const waiting = await scrape(sidecar.port)
  t.equal(sample(waiting, 'homing_jobs_unfinished', { status: 'initializing' }) + sample(waiting, 'homing_jobs_unfinished', { status: 'distributing' }), 1, 'the job is seen waiting')
  t.equal(sample(waiting, 'homing_job_devices', { state: 'total' }), 2)

  runner.start()
  await within(WAIT_MS, closed(device), 'the broker to disconnect the online device once the job ran')
  await eventually(async () => (await api('GET', `/distribution/jobs/${job.json.jobId}`)).json.status === 'distributed', 'the job to end distributed')
  const moved = await scrape(sidecar.port)
  t.equal(sample(moved, 'homing_notify_total', { instance: 'a' }), 1)
  t.equal(sample(moved, 'homing_notify_replies_total', { instance: 'a' }), 1)
  t.equal(sample(moved, 'homing_kicks_total', { instance: 'a' }), 1)
  t.equal(sample(moved, 'homing_jobs_unfinished', { status: 'initializing' }) + sample(moved, 'homing_jobs_unfinished', { status: 'distributing' }), 0, 'no job left')
  t.equal(sample(moved, 'homing_mqtt_connections', { instance: 'a' }), 0)

  for (const secretish of [PK, 'lamp-0001', lamp.deviceSecret, TOKEN]) t.notMatch(moved, secretish, `"${secretish}" is never a label`)
  t.equal(sample(await scrape(broker.ports.http as number), 'homing_mqtt_connects_total', { instance: 'a', code: '0' }), 1, 'the broker\'s listen.http serves its metrics too')
})
