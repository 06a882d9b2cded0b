// docs/distribution.md, "Rule 7" through the jobs API, over the real Redis: a nearest job takes one instance per
// chosen region, copies the product to every one of them, and leaves its devices waiting; each is
// placed at its first bootstrap and the job's record says where it went.
import t from 'tap'
import { jobForm, uploadJob } from './helpers/job-upload.js'
import { startRedisSidecar } from './helpers/redis-sidecar.js'
import { FRANKFURT, SHANGHAI, SILICON_VALLEY } from './helpers/regions.js'
import { testConfig, type ApiAnswer } from './helpers/test-sidecar.js'
import { untilAsync } from './helpers/wait.js'

const config = testConfig({
  bootstrap: { host: '127.0.0.1', port: 0, trustProxy: true },
  regions: [SHANGHAI, FRANKFURT, SILICON_VALLEY],
  instances: [
    { id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: 'mqtt.sh.example.com', port: 1883 } },
    { id: 'iot-de-1', region: 'eu-central-1', account: 'acme', endpoint: { host: 'mqtt.de.example.com', port: 1883 } },
    { id: 'iot-de-2', region: 'eu-central-1', account: 'acme', endpoint: { host: 'mqtt.de2.example.com', port: 1883 } },
    { id: 'iot-us-1', region: 'us-west-1', account: 'acme', endpoint: { host: 'mqtt.us.example.com', port: 1883 } },
    { id: 'iot-gx-1', region: 'eu-central-1', account: 'globex', endpoint: { host: 'mqtt.globex.example.com', port: 1883 } }
  ]
})
const ts = await startRedisSidecar(t, 'nearest-jobs', { config, jobs: true })
const { acme } = ts

const PK = 'a1NearJobs1'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Tracker', productKey: PK, parsingScript: 'v1' })
await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['trk-eu', 'trk-us', 'trk-cn', 'trk-lan'] })
await acme('PUT', `/products/${PK}/devices/trk-eu/tags`, { fleet: 'north' })

const targets = [{ region: 'eu-central-1', instanceId: 'iot-de-1' }, { region: 'us-west-1', instanceId: 'iot-us-1' }, { region: 'cn-shanghai', instanceId: 'iot-sh-1' }]
const nearest = (extra: Record<string, unknown> = {}) => ({ method: 'this-account', policy: 'nearest', sourceInstanceId: 'iot-sh-1', productKey: PK, deviceNames: ['trk-eu'], targets, ...extra })

async function finished (res: ApiAnswer): Promise<{ id: string, records: string[] }> {
  if (res.status !== 202) throw new Error(`job refused: ${res.text}`)
  const id = res.json.jobId as string
  await untilAsync(async () => (await acme('GET', `/distribution/jobs/${id}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
  return { id, records: await records(id) }
}

async function records (id: string): Promise<string[]> {
  return (await acme('GET', `/distribution/jobs/${id}/records`)).text.trim().split('\n').slice(1)
}

async function bootstrap (deviceName: string, forwardedFor: string): Promise<string | null> {
  const res = await fetch(`${ts.url}/auth/bootstrap`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Forwarded-For': forwardedFor },
    body: `productKey=${PK}&deviceName=${deviceName}`
  })
  const body = await res.json() as { data?: { resources?: { mqtt?: { host?: string } } } }
  return body.data?.resources?.mqtt?.host ?? null
}

t.test('a nearest job is refused whole when its targets or devices do not fit, and nothing is stored', async t => {
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['product-only: nearest access needs devices', { deviceNames: [] }, 400, 'deviceNames'],
    ['product-only, no list at all', { deviceNames: undefined }, 400, 'deviceNames'],
    ['no targets', { targets: undefined }, 400, 'targets'],
    ['empty targets', { targets: [] }, 400, 'targets'],
    ['one region twice', { targets: [{ region: 'eu-central-1', instanceId: 'iot-de-1' }, { region: 'eu-central-1', instanceId: 'iot-de-2' }] }, 400, 'targets[1].region'],
    ['an instance outside its region', { targets: [{ region: 'us-west-1', instanceId: 'iot-de-1' }] }, 400, 'targets[0].instanceId'],
    ['an unknown region', { targets: [{ region: 'mars-1', instanceId: 'iot-de-1' }] }, 400, 'targets[0].region'],
    ['an unknown instance', { targets: [{ region: 'eu-central-1', instanceId: 'iot-zz-9' }] }, 400, 'targets[0].instanceId'],
    ['another account\'s instance', { targets: [{ region: 'eu-central-1', instanceId: 'iot-gx-1' }] }, 403, 'targets[0].instanceId'],
    ['targetInstanceId is the region policy\'s', { targetInstanceId: 'iot-de-1' }, 400, 'targetInstanceId'],
    ['cross-account nearest', { method: 'cross-account', targetAccount: 'globex', targets: [{ region: 'eu-central-1', instanceId: 'iot-gx-1' }] }, 400, 'method']
  ]
  for (const [what, extra, status, field] of cases) {
    const res = await acme('POST', '/distribution/jobs', nearest(extra))
    t.equal(res.status, status, `${what}: ${res.text}`)
    t.equal(res.json.error.field, field, what)
  }
  t.equal((await acme('GET', '/distribution/jobs')).json.total, 0)
  t.equal((await acme('GET', `/products/${PK}?instanceId=iot-de-1`)).status, 404, 'no product copied')
})

let jobId = ''
t.test('the job copies the product to every target and leaves its devices waiting for placement', async t => {
  const job = await finished(await acme('POST', '/distribution/jobs', nearest({ deviceNames: ['trk-eu', 'trk-us', 'trk-cn', 'trk-lan', 'trk-none'] })))
  jobId = job.id
  t.same(job.records, [
    `${PK},trk-eu,success,moved to nearest placement; offline`,
    `${PK},trk-us,success,moved to nearest placement; offline`,
    `${PK},trk-cn,success,moved to nearest placement; offline`,
    `${PK},trk-lan,success,moved to nearest placement; offline`,
    `${PK},trk-none,device_not_found,device trk-none does not exist in product ${PK}`
  ])
  const view = await acme('GET', `/distribution/jobs/${jobId}`)
  t.match(view.json, { policy: 'nearest', targets, targetInstanceId: null, counts: { total: 5, succeeded: 4, failed: 1, pending: 0 } })
  for (const id of ['iot-de-1', 'iot-us-1']) {
    t.match((await acme('GET', `/products/${PK}?instanceId=${id}`)).json, { readOnly: true, sourceInstanceId: 'iot-sh-1', parsingScript: 'v1' }, `a read-only copy at ${id}`)
  }
  t.match((await acme('GET', `/products/${PK}?instanceId=iot-sh-1`)).json, { readOnly: false }, 'the source, also a target, keeps its original')
  const waiting = await acme('GET', `/products/${PK}/devices/trk-eu`)
  t.match(waiting.json, { instanceId: null, candidates: targets, tags: {}, placement: null }, 'waiting, tags cleared')
  t.match((await acme('GET', '/distribution/devices')).json.devices, [{ deviceName: 'trk-cn', instanceId: null, jobId }, { deviceName: 'trk-eu', instanceId: null }, { deviceName: 'trk-lan' }, { deviceName: 'trk-us' }])
})

t.test('each device is placed at its first bootstrap, and the record says where and whether it was a fallback', async t => {
  t.equal(await bootstrap('trk-eu', '81.2.69.142'), 'mqtt.de.example.com')
  t.equal(await bootstrap('trk-us', '2001:4860:4860::8888'), 'mqtt.us.example.com')
  t.equal(await bootstrap('trk-cn', '202.96.209.133'), 'mqtt.sh.example.com')
  t.equal(await bootstrap('trk-lan', '10.1.2.3'), 'mqtt.de.example.com', 'a private address: the first target')
  t.same(await records(jobId), [
    `${PK},trk-eu,success,"moved to nearest placement; offline; placed at iot-de-1 (eu-central-1), nearest to 81.2.69.142"`,
    `${PK},trk-us,success,"moved to nearest placement; offline; placed at iot-us-1 (us-west-1), nearest to 2001:4860:4860::8888"`,
    `${PK},trk-cn,success,"moved to nearest placement; offline; placed at iot-sh-1 (cn-shanghai), nearest to 202.96.209.133"`,
    `${PK},trk-lan,success,"moved to nearest placement; offline; placed at iot-de-1 (eu-central-1), fallback: 10.1.2.3 has no known location"`,
    `${PK},trk-none,device_not_found,device trk-none does not exist in product ${PK}`
  ])
  t.match((await acme('GET', `/products/${PK}/devices/trk-lan`)).json, { instanceId: 'iot-de-1', status: 'inactive', placement: { instanceId: 'iot-de-1', region: 'eu-central-1', fallback: true, address: '10.1.2.3' } })
  t.match((await acme('GET', `/distribution/jobs/${jobId}`)).json, { status: 'distributed', counts: { succeeded: 4, failed: 1 } })
  t.equal(await bootstrap('trk-us', '81.2.69.142'), 'mqtt.us.example.com', 'placed: it keeps its home')
})

t.test('an operator re-places devices with a new nearest job from where they are now', async t => {
  const job = await finished(await acme('POST', '/distribution/jobs', nearest({ sourceInstanceId: 'iot-us-1', deviceNames: ['trk-us'] })))
  t.same(job.records, [`${PK},trk-us,success,moved to nearest placement; offline`])
  t.equal(await bootstrap('trk-us', '81.2.69.142'), 'mqtt.de.example.com', 'placed again, by its address now')
  t.same(await records(job.id), [`${PK},trk-us,success,"moved to nearest placement; offline; placed at iot-de-1 (eu-central-1), nearest to 81.2.69.142"`])
})

t.test('retrying a nearest job tries its failed devices again, and places the ones that exist now', async t => {
  await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['trk-none'] })
  t.equal((await acme('POST', `/distribution/jobs/${jobId}/retry`)).status, 202)
  await untilAsync(async () => (await acme('GET', `/distribution/jobs/${jobId}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
  t.match((await records(jobId)).at(-1), `${PK},trk-none,success,moved to nearest placement; offline`)
  t.equal(await bootstrap('trk-none', '8.8.8.8'), 'mqtt.us.example.com')
})

t.test('a CSV upload takes the targets as a JSON form field', async t => {
  await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['trk-csv'] })
  const upload = (targetsField: string): Promise<ApiAnswer> =>
    uploadJob(ts.url, jobForm(`productKey,deviceName\n${PK},trk-csv\n`, { method: 'this-account', policy: 'nearest', sourceInstanceId: 'iot-sh-1', targets: targetsField }))
  const bad = await upload('eu-central-1=iot-de-1')
  t.equal(bad.status, 400)
  t.equal(bad.json.error.field, 'targets')
  const job = await finished(await upload(JSON.stringify([{ region: 'us-west-1', instanceId: 'iot-us-1' }])))
  t.same(job.records, [`${PK},trk-csv,success,moved to nearest placement; offline`])
  t.match((await acme('GET', `/distribution/jobs/${job.id}`)).json, { targets: [{ region: 'us-west-1', instanceId: 'iot-us-1' }] })
})
