// The jobs API (README.md, "Management API", /distribution): start a job by JSON or CSV upload,
// follow it, read its records, retry it, and see what went where. Memory store, as `homing up` runs it.
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { jobForm, uploadJob } from './helpers/job-upload.js'
import { apiClient, startTestSidecar, TOKENS, type ApiAnswer } from './helpers/test-sidecar.js'
import { untilAsync } from './helpers/wait.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store, undefined, { jobs: true })
t.teardown(async () => {
  await sidecar.close()
})
const acme = apiClient(sidecar.url, TOKENS.acme)
const globex = apiClient(sidecar.url, TOKENS.globex)

const upload = (form: FormData, token: string = TOKENS.acme): Promise<ApiAnswer> => uploadJob(sidecar.url, form, token)

async function distributed (id: string): Promise<ApiAnswer> {
  await untilAsync(async () => (await acme('GET', `/distribution/jobs/${id}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
  return acme('GET', `/distribution/jobs/${id}`)
}

// A product with five devices at iot-sh-1.
const created = await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: 'a1lampApi01' })
const devices = await acme('POST', '/products/a1lampApi01/devices', { instanceId: 'iot-sh-1', deviceNames: ['lamp-0001', 'lamp-0002', 'lamp-0003', 'lamp-0004', 'lamp-0005'] })
if (created.status !== 201 || devices.status !== 201) throw new Error(`setup failed: ${created.text} ${devices.text}`)

t.test('the CSV template is the header a device list upload needs', async t => {
  const res = await acme('GET', '/distribution/template.csv')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/csv/)
  t.match(res.headers.get('content-disposition'), /attachment; filename="distribution-template.csv"/)
  t.equal(res.text, 'productKey,deviceName\n')
})

t.test('a JSON job: 202 once stored, then distributed with counts and records in job order', async t => {
  const res = await acme('POST', '/distribution/jobs', {
    method: 'this-account',
    policy: 'region',
    sourceInstanceId: 'iot-sh-1',
    targetInstanceId: 'iot-de-1',
    productKey: 'a1lampApi01',
    deviceNames: ['lamp-0002', 'ghost-0001', 'lamp-0001']
  })
  t.equal(res.status, 202)
  t.match(res.json, { jobId: /^j[0-9a-z]+$/, status: 'initializing' })
  t.equal(res.headers.get('location'), `/api/v1/distribution/jobs/${res.json.jobId}`)
  const job = await distributed(res.json.jobId)
  t.match(job.json, {
    id: res.json.jobId,
    status: 'distributed',
    method: 'this-account',
    policy: 'region',
    sourceInstanceId: 'iot-sh-1',
    targetInstanceId: 'iot-de-1',
    productKey: 'a1lampApi01',
    counts: { total: 3, succeeded: 2, failed: 1, pending: 0 },
    error: null
  })
  const records = await acme('GET', `/distribution/jobs/${res.json.jobId}/records`)
  t.equal(records.status, 200)
  t.match(records.headers.get('content-type'), /^text\/csv/)
  t.same(parse(records.text), [
    ['productKey', 'deviceName', 'code', 'message'],
    ['a1lampApi01', 'lamp-0002', 'success', 'moved to iot-de-1; offline'],
    ['a1lampApi01', 'ghost-0001', 'device_not_found', 'device ghost-0001 does not exist in product a1lampApi01'],
    ['a1lampApi01', 'lamp-0001', 'success', 'moved to iot-de-1; offline']
  ], 'one row per device, in the order the job named them')
  const device = await acme('GET', '/products/a1lampApi01/devices/lamp-0002')
  t.match(device.json, { instanceId: 'iot-de-1' })
})

t.test('a CSV upload: the form gives the job, the file its devices', async t => {
  const form = jobForm('productKey,deviceName\r\na1lampApi01,lamp-0003\r\n"a1lampApi01","lamp-0004"\r\n')
  const res = await upload(form)
  t.equal(res.status, 202)
  const job = await distributed(res.json.jobId)
  t.match(job.json, { productKey: 'a1lampApi01', counts: { total: 2, succeeded: 2, failed: 0, pending: 0 } }, 'the productKey comes from the file when the form has none')
})

t.test('a product-only job copies the product and moves nothing', async t => {
  await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Plug', productKey: 'a1plugApi01' })
  const res = await acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: 'a1plugApi01' })
  t.equal(res.status, 202)
  const job = await distributed(res.json.jobId)
  t.same(job.json.counts, { total: 0, succeeded: 0, failed: 0, pending: 0 })
  const copy = await acme('GET', '/products/a1plugApi01?instanceId=iot-de-1')
  t.match(copy.json, { readOnly: true, sourceInstanceId: 'iot-sh-1', name: 'Plug' })
  const records = await acme('GET', `/distribution/jobs/${res.json.jobId}/records`)
  t.equal(records.text, 'productKey,deviceName,code,message\n', 'a header and no rows')
})

t.test('the batch list: newest first, filtered by status and productKey, paged either way', async t => {
  const all = await acme('GET', '/distribution/jobs')
  t.equal(all.status, 200)
  t.equal(all.json.total, 3)
  t.same(all.json.jobs.map((j: { productKey: string }) => j.productKey), ['a1plugApi01', 'a1lampApi01', 'a1lampApi01'])
  t.match(all.json.jobs[1], { status: 'distributed', counts: { total: 2, succeeded: 2, failed: 0, pending: 0 } })
  t.notOk('deviceNames' in all.json.jobs[0], 'the device list stays out of the batch list')
  const lamps = await acme('GET', '/distribution/jobs?productKey=a1lampApi01&status=distributed')
  t.equal(lamps.json.total, 2)
  const page2 = await acme('GET', '/distribution/jobs?page=2&pageSize=2')
  t.match(page2.json, { total: 3, offset: 2, limit: 2 })
  t.equal(page2.json.jobs.length, 1)
  const offset = await acme('GET', '/distribution/jobs?offset=1&limit=1')
  t.equal(offset.json.jobs[0].id, all.json.jobs[1].id)
  t.equal((await acme('GET', '/distribution/jobs?status=cancelled')).status, 400, 'there is no such status')
  t.same((await globex('GET', '/distribution/jobs')).json, { jobs: [], total: 0, offset: 0, limit: 20 }, 'another account sees none of them')
})

t.test('retry: a distributed job runs its failed devices again; with none failed it is a 409', async t => {
  const res = await acme('POST', '/distribution/jobs', {
    method: 'this-account',
    policy: 'region',
    sourceInstanceId: 'iot-sh-1',
    targetInstanceId: 'iot-de-1',
    productKey: 'a1lampApi01',
    deviceNames: ['lamp-0005', 'late-0001']
  })
  const first = await distributed(res.json.jobId)
  t.same(first.json.counts, { total: 2, succeeded: 1, failed: 1, pending: 0 })
  await acme('POST', '/products/a1lampApi01/devices', { instanceId: 'iot-sh-1', deviceNames: ['late-0001'] })
  const retry = await acme('POST', `/distribution/jobs/${res.json.jobId}/retry`)
  t.equal(retry.status, 202)
  t.same(retry.json, { jobId: res.json.jobId, status: 'distributing' })
  const second = await distributed(res.json.jobId)
  t.same(second.json.counts, { total: 2, succeeded: 2, failed: 0, pending: 0 })
  const again = await acme('POST', `/distribution/jobs/${res.json.jobId}/retry`)
  t.equal(again.status, 409)
  t.match(again.json.error.message, /nothing to retry/)
})

t.test('what was distributed where: devices and product copies of the caller', async t => {
  const devices = await acme('GET', '/distribution/devices?productKey=a1lampApi01')
  t.equal(devices.status, 200)
  t.equal(devices.json.total, 6, 'five lamps and the late one, all moved by a job')
  t.match(devices.json.devices.find((d: { deviceName: string }) => d.deviceName === 'lamp-0001'),
    { productKey: 'a1lampApi01', instanceId: 'iot-de-1', originInstanceId: 'iot-sh-1', jobId: /^j/, active: false })
  t.equal((await acme('GET', '/distribution/devices?limit=2')).json.devices.length, 2)
  const products = await acme('GET', '/distribution/products')
  t.same(products.json.products.map((p: { productKey: string, instanceId: string }) => `${p.productKey}@${p.instanceId}`), ['a1lampApi01@iot-de-1', 'a1plugApi01@iot-de-1'])
  t.match(products.json.products[0], { sourceInstanceId: 'iot-sh-1', name: 'Lamp' })
  t.same((await globex('GET', '/distribution/devices')).json.devices, [])
  t.same((await globex('GET', '/distribution/products')).json.products, [])
})

t.test('another account\'s job is not found, whatever is asked of it', async t => {
  const { json } = await acme('GET', '/distribution/jobs')
  const id = json.jobs[0].id as string
  for (const [method, path] of [['GET', `/distribution/jobs/${id}`], ['GET', `/distribution/jobs/${id}/records`], ['POST', `/distribution/jobs/${id}/retry`]] as const) {
    const res = await globex(method, path)
    t.equal(res.status, 404, `${method} ${path}`)
    t.same(res.json, { error: { code: 'not_found', message: `job "${id}" not found` } })
  }
  t.equal((await acme('GET', '/distribution/jobs/nope')).status, 404)
  t.equal((await apiClient(sidecar.url, null)('GET', `/distribution/jobs/${id}`)).status, 401)
})

t.test('docs/distribution.md, "Rule 9": a job cannot be cancelled; there is no way to', async t => {
  const { json } = await acme('GET', '/distribution/jobs')
  const id = json.jobs[0].id as string
  for (const method of ['DELETE', 'PATCH', 'PUT']) {
    const res = await acme(method, `/distribution/jobs/${id}`, method === 'DELETE' ? undefined : { status: 'cancelled' })
    t.equal(res.status, 405, `${method} is not allowed`)
  }
  t.equal((await acme('POST', `/distribution/jobs/${id}/cancel`)).status, 404)
  t.equal((await acme('GET', `/distribution/jobs/${id}`)).json.status, 'distributed', 'the job is as it was')
})
