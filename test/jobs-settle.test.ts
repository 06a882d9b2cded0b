// docs/distribution.md, "Rate, waves and settling": waves (`waveSize` devices, then `wavePauseSeconds`), and
// the job view's settling figures: the moved online devices that came back at their destination, those
// still away, `settled` once none is, and the stragglers named once the settle timeout has passed.
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { openRedisStore } from '../shared/store/redis.js'
import { brokerConfig, makeDevices } from './helpers/broker.js'
import { lightDevice, lightFleet, type LightDevice } from './helpers/light-device.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { apiClient, startTestSidecar } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'
import { productWithData as product } from './helpers/fixtures.js'

const keyPrefix = uniquePrefix('jobs-settle')
const base = brokerConfig(keyPrefix, { broker: { notifyTimeoutMs: 300 } })
const config = { ...base, bootstrap: { ...base.bootstrap, host: '127.0.0.1' } }
const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
const a = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'settle-a' })
const b = await startBrokerNode({ config, instanceId: 'b', store, nodeId: 'settle-b' })
const sidecar = await startTestSidecar(store, config, { jobs: true })
const api = apiClient(sidecar.url, 'acme-token-0123456789')
const open: LightDevice[] = []
t.teardown(async () => {
  for (const d of open) d.end()
  await sidecar.close()
  await a.close()
  await b.close()
  await store.close()
  await dropPrefix(keyPrefix)
})

// any: the job view is read by path; a wrong path fails the assertion anyway
async function view (jobId: string): Promise<any> {
  return (await api('GET', `/distribution/jobs/${jobId}`)).json
}

async function distributed (jobId: string, ms = 20_000): Promise<void> {
  let last: unknown = null
  await eventually(async () => {
    last = await view(jobId)
    return (last as { status: string }).status === 'distributed'
  }, () => `job ${jobId} to be distributed (last: ${JSON.stringify(last)})`, { ms, every: 50 })
}

t.test('waves: 30 devices in waves of 10 with a 1 s pause between waves', async t => {
  const names = Array.from({ length: 30 }, (_, i) => `wave-${String(i).padStart(2, '0')}`)
  await store.createProduct(product('pkW', 'a'))
  const devices = await lightFleet([a.ports.mqtt], await makeDevices(store, 'pkW', names, 'a'))
  open.push(...devices)
  const started = Date.now()
  const res = await api('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'a', productKey: 'pkW', targetInstanceId: 'b', deviceNames: names, waveSize: 10, wavePauseSeconds: 1 })
  t.equal(res.status, 202, res.text)
  await distributed(res.json.jobId)
  t.ok(Date.now() - started >= 2000, 'two pauses of 1 s')
  await eventually(() => devices.every(d => d.notifies.length === 1), 'every device to be notified once', { ms: 5000 })
  // In job order: the waves are devices 0-9, 10-19, 20-29.
  const at = devices.map(d => d.notifies[0] as number)
  const lastOf = (from: number): number => Math.max(...at.slice(from, from + 10))
  const firstOf = (from: number): number => Math.min(...at.slice(from, from + 10))
  t.ok(firstOf(10) - lastOf(0) >= 900, `a pause between waves 1 and 2 (${firstOf(10) - lastOf(0)} ms)`)
  t.ok(firstOf(20) - lastOf(10) >= 900, `a pause between waves 2 and 3 (${firstOf(20) - lastOf(10)} ms)`)
  t.same((await view(res.json.jobId)).pace, { rate: null, waveSize: 10, wavePauseSeconds: 1 })
})

t.test('settling: reconnected, away, the stragglers after the timeout, settled once all are back', async t => {
  const names = ['settle-1', 'settle-2', 'settle-3', 'settle-off']
  await store.createProduct(product('pkS', 'a'))
  const certs = await makeDevices(store, 'pkS', names, 'a')
  // settle-off is offline when moved: it is not waited for.
  const online = await lightFleet([a.ports.mqtt], certs.slice(0, 3))
  open.push(...online)
  const res = await api('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'a', productKey: 'pkS', targetInstanceId: 'b', deviceNames: names, settleTimeoutSeconds: 2 })
  t.equal(res.status, 202, res.text)
  const jobId = res.json.jobId as string
  await distributed(jobId)
  await eventually(async () => (await view(jobId)).settling.notified === 3, 'the old broker to record its three kicks', { ms: 5000 })
  t.match((await view(jobId)).settling, { notified: 3, reconnected: 0, away: 3, state: 'settling', timeoutSeconds: 2, stragglers: null })

  open.push(await lightDevice(b.ports.mqtt, certs[0]!), await lightDevice(b.ports.mqtt, certs[1]!))
  await eventually(async () => (await view(jobId)).settling.reconnected === 2, 'two devices to count as reconnected', { ms: 5000 })
  const list = (await api('GET', '/distribution/jobs?productKey=pkS')).json
  t.match(list.jobs[0].settling, { reconnected: 2, away: 1 }, 'the job list shows the same figures')

  await eventually(async () => (await view(jobId)).settling.state === 'timed-out', 'the settle timeout to pass', { ms: 6000 })
  t.same((await view(jobId)).settling.stragglers, ['settle-3'], 'the straggler is named')

  open.push(await lightDevice(b.ports.mqtt, certs[2]!))
  await eventually(async () => (await view(jobId)).settling.state === 'settled', 'the job to settle once the last device is back', { ms: 5000 })
  t.match((await view(jobId)).settling, { notified: 3, reconnected: 3, away: 0, state: 'settled', stragglers: null })
})

t.test('a job that sets no pace shows the defaults; bad pace fields are refused', async t => {
  const body = { method: 'this-account', policy: 'region', sourceInstanceId: 'a', productKey: 'pkS', targetInstanceId: 'b', deviceNames: ['settle-off'] }
  for (const [field, value] of [['rate', 0], ['rate', 1.5], ['waveSize', 0], ['wavePauseSeconds', -1], ['settleTimeoutSeconds', 'x']] as const) {
    const res = await api('POST', '/distribution/jobs', { ...body, [field]: value })
    t.equal(res.status, 400, `${field}: ${JSON.stringify(value)} is refused`)
  }
  const pauseAlone = await api('POST', '/distribution/jobs', { ...body, wavePauseSeconds: 5 })
  t.equal(pauseAlone.status, 400, 'wavePauseSeconds without waveSize is refused')
  t.match(pauseAlone.text, /wavePauseSeconds needs waveSize/)
})

t.test('a CSV upload takes the pace as form fields; a field that is not a number is refused', async t => {
  await makeDevices(store, 'pkS', ['upload-1'], 'a')
  const send = async (fields: Record<string, string>): Promise<{ status: number, json: any }> => { // any: read by path
    const form = new FormData()
    for (const [k, v] of Object.entries({ method: 'this-account', policy: 'region', sourceInstanceId: 'a', targetInstanceId: 'b', ...fields })) form.set(k, v)
    form.set('file', new Blob(['productKey,deviceName\r\npkS,upload-1\r\n'], { type: 'text/csv' }), 'devices.csv')
    const res = await fetch(`${sidecar.url}/api/v1/distribution/jobs`, { method: 'POST', headers: { Authorization: 'Bearer acme-token-0123456789' }, body: form })
    return { status: res.status, json: await res.json() }
  }
  t.equal((await send({ rate: 'fast' })).status, 400, 'rate "fast" is refused')
  t.equal((await send({ waveSize: '1e3' })).status, 400, 'waveSize "1e3" is refused')
  const res = await send({ rate: '50', waveSize: '10', wavePauseSeconds: '0.5', settleTimeoutSeconds: '60' })
  t.equal(res.status, 202, JSON.stringify(res.json))
  const job = await view(res.json.jobId)
  t.same(job.pace, { rate: 50, waveSize: 10, wavePauseSeconds: 0.5 })
  t.equal(job.settling.timeoutSeconds, 60)
  await distributed(res.json.jobId)
})
