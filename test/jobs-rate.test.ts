// docs/distribution.md, "Rate, waves and settling": a job with `rate` paces its move events, so the source
// instance's brokers (two nodes here) notify no faster than that in total; without a rate it moves as
// fast as it can.
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { openRedisStore } from '../shared/store/redis.js'
import { brokerConfig, makeDevices } from './helpers/broker.js'
import { lightFleet, type LightDevice } from './helpers/light-device.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { apiClient, startTestSidecar } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'
import { productWithData as product } from './helpers/fixtures.js'

const keyPrefix = uniquePrefix('jobs-rate')
const base = brokerConfig(keyPrefix, { broker: { notifyTimeoutMs: 500 } })
const config = { ...base, bootstrap: { ...base.bootstrap, host: '127.0.0.1' } }
const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
const a1 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'rate-a1' })
const a2 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'rate-a2' })
const sidecar = await startTestSidecar(store, config, { jobs: true })
const api = apiClient(sidecar.url, 'acme-token-0123456789')
const fleet: LightDevice[] = []
t.teardown(async () => {
  for (const d of fleet) d.end()
  await sidecar.close()
  await a1.close()
  await a2.close()
  await store.close()
  await dropPrefix(keyPrefix)
})

/** The most notifies in any one-second window (sliding, from each notify on). */
function mostInOneSecond (times: number[]): number {
  const sorted = [...times].sort((x, y) => x - y)
  let most = 0
  let j = 0
  for (let i = 0; i < sorted.length; i++) {
    while ((sorted[j] as number) <= (sorted[i] as number) - 1000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}

async function finished (jobId: string, ms: number): Promise<{ status: string, counts: Record<string, number> }> {
  let job = { status: '', counts: {} }
  await eventually(async () => {
    job = (await api('GET', `/distribution/jobs/${jobId}`)).json
    return job.status === 'distributed' || job.status === 'failed'
  }, () => `job ${jobId} to finish (last: ${JSON.stringify(job)})`, { ms, every: 100 })
  return job
}

t.test('2,000 online devices moved at 200/s: no second has more than 220 notifies, the job takes at least 9 s', async t => {
  const names = Array.from({ length: 2000 }, (_, i) => `rate-${String(i).padStart(4, '0')}`)
  await store.createProduct(product('pkR', 'a'))
  const certs = await makeDevices(store, 'pkR', names, 'a')
  fleet.push(...await lightFleet([a1.ports.mqtt, a2.ports.mqtt], certs))
  const started = Date.now()
  const created = await api('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'a', productKey: 'pkR', targetInstanceId: 'b', deviceNames: names, rate: 200 })
  t.equal(created.status, 202, created.text)
  const job = await finished(created.json.jobId, 50_000)
  const took = Date.now() - started
  t.equal(job.status, 'distributed')
  await eventually(() => fleet.every(d => d.notifies.length > 0), () => `every device to be notified (${fleet.filter(d => d.notifies.length === 0).length} not yet)`, { ms: 10_000 })
  const times = fleet.flatMap(d => d.notifies)
  t.equal(times.length, 2000, 'each device notified once')
  const most = mostInOneSecond(times)
  t.ok(most <= 220, `at most 220 notifies in any second (most: ${most})`)
  t.ok(took >= 9000, `the job took at least 9 s (took ${took} ms)`)
  // The old brokers write each kicked device's record shortly after its notify (batched): wait for the last.
  let view = (await api('GET', `/distribution/jobs/${created.json.jobId}`)).json
  t.same(view.pace, { rate: 200, waveSize: null, wavePauseSeconds: 0 }, 'the job view shows its pace')
  await eventually(async () => {
    view = (await api('GET', `/distribution/jobs/${created.json.jobId}`)).json
    return view.settling.notified === 2000
  }, () => `the job view to count 2000 notified (${String(view.settling.notified)})`, { ms: 10_000, every: 250 })
  t.equal(view.settling.notified, 2000, 'the job view counts the notified devices')
  for (const d of fleet) d.end()
})

t.test('without a rate the same kind of job is not paced', async t => {
  const names = Array.from({ length: 300 }, (_, i) => `fast-${String(i).padStart(4, '0')}`)
  await store.createProduct(product('pkF', 'a'))
  const certs = await makeDevices(store, 'pkF', names, 'a')
  const devices = await lightFleet([a1.ports.mqtt, a2.ports.mqtt], certs)
  fleet.push(...devices)
  const created = await api('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'a', productKey: 'pkF', targetInstanceId: 'b', deviceNames: names })
  t.equal(created.status, 202, created.text)
  await finished(created.json.jobId, 20_000)
  await eventually(() => devices.every(d => d.notifies.length > 0), 'every device to be notified', { ms: 10_000 })
  t.ok(mostInOneSecond(devices.flatMap(d => d.notifies)) > 30, 'more than a rate of 30/s would allow in one second: the devices went in one batch')
  const view = (await api('GET', `/distribution/jobs/${created.json.jobId}`)).json
  t.same(view.pace, { rate: null, waveSize: null, wavePauseSeconds: 0 })
})
