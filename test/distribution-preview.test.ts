// POST /api/v1/distribution/jobs?dryRun=true: the preview of a job. It answers what a job would do to
// each device (destination, or the refusal the records would carry) and stores nothing: no job, no
// move, no event, and a cross-account code stays pending.
import t, { type Test } from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import type { MoveEvent } from '../shared/types.js'
import { jobForm } from './helpers/job-upload.js'
import { untilAsync } from './helpers/wait.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store, undefined, { jobs: true })
const events: MoveEvent[] = []
const subscription = await store.consumeMoves('iot-sh-1', 'preview-test', async event => { events.push(event) })
t.teardown(async () => {
  await subscription.close()
  await sidecar.close()
})
const acme = apiClient(sidecar.url, TOKENS.acme)
const globex = apiClient(sidecar.url, TOKENS.globex)

await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: 'a1lampPrev1' })
await acme('POST', '/products/a1lampPrev1/devices', { instanceId: 'iot-sh-1', deviceNames: ['lamp-0001', 'lamp-0002'] })
await acme('POST', '/products', { instanceId: 'iot-de-1', name: 'Other', productKey: 'a1lampPrev2' })
await acme('POST', '/products/a1lampPrev2/devices', { instanceId: 'iot-de-1', deviceNames: ['away-0001'] })

const regionJob = {
  method: 'this-account',
  policy: 'region',
  sourceInstanceId: 'iot-sh-1',
  targetInstanceId: 'iot-de-1',
  productKey: 'a1lampPrev1',
  deviceNames: ['lamp-0001', 'ghost-0001', 'lamp-0002']
}

async function nothingStored (t: Test): Promise<void> {
  t.equal((await acme('GET', '/distribution/jobs')).json.total, 0, 'no job was stored')
  const devices = (await acme('GET', '/products/a1lampPrev1/devices?instanceId=iot-sh-1')).json.devices as { deviceName: string, instanceId: string }[]
  t.same(devices.map(d => [d.deviceName, d.instanceId]), [['lamp-0001', 'iot-sh-1'], ['lamp-0002', 'iot-sh-1']], 'no device moved')
  t.equal(await store.getProduct('a1lampPrev1', 'iot-de-1'), null, 'no product copy at the destination')
  await new Promise(resolve => setTimeout(resolve, 100))
  t.same(events, [], 'no move event was published')
}

t.test('a region job: per device, its destination or its refusal; nothing stored', async t => {
  const res = await acme('POST', '/distribution/jobs?dryRun=true', regionJob)
  t.equal(res.status, 200, res.text)
  t.match(res.json, {
    dryRun: true,
    method: 'this-account',
    policy: 'region',
    sourceInstanceId: 'iot-sh-1',
    targetInstanceId: 'iot-de-1',
    productTo: ['iot-de-1'],
    counts: { total: 3, ok: 2, refused: 1 }
  })
  t.same(res.json.devices, [
    { deviceName: 'lamp-0001', ok: true, destination: 'iot-de-1', candidates: ['iot-de-1'], online: false },
    { deviceName: 'ghost-0001', ok: false, code: 'device_not_found', message: 'device ghost-0001 does not exist in product a1lampPrev1' },
    { deviceName: 'lamp-0002', ok: true, destination: 'iot-de-1', candidates: ['iot-de-1'], online: false }
  ])
  await nothingStored(t)
})

t.test('a device of another product at its own instance can be previewed', async t => {
  const res = await acme('POST', '/distribution/jobs?dryRun=true', { ...regionJob, sourceInstanceId: 'iot-de-1', targetInstanceId: 'iot-sh-1', productKey: 'a1lampPrev2', deviceNames: ['away-0001'] })
  t.equal(res.status, 200, res.text)
  t.match(res.json.devices, [{ deviceName: 'away-0001', ok: true }])
})

t.test('nearest access: every device goes to nearest placement among the targets', async t => {
  const res = await acme('POST', '/distribution/jobs?dryRun=true', {
    method: 'this-account',
    policy: 'nearest',
    sourceInstanceId: 'iot-sh-1',
    productKey: 'a1lampPrev1',
    deviceNames: ['lamp-0001'],
    targets: [{ region: 'eu-central-1', instanceId: 'iot-de-1' }]
  })
  t.equal(res.status, 200, res.text)
  t.same(res.json.devices, [{
    deviceName: 'lamp-0001',
    ok: true,
    destination: 'nearest placement',
    candidates: ['iot-de-1'],
    online: false,
    likely: { instanceId: 'iot-de-1', region: 'eu-central-1', fallback: true, address: null }
  }], 'a device that never connected is likely placed at the fallback')
  await nothingStored(t)
})

t.test('nearest access: the likely placement follows the address the device last connected from', async t => {
  await store.connected('a1lampPrev1', 'lamp-0002', { instanceId: 'iot-sh-1', nodeId: 'n1', session: 's1', address: '8.8.8.8', at: Date.now() })
  const res = await acme('POST', '/distribution/jobs?dryRun=true', {
    method: 'this-account',
    policy: 'nearest',
    sourceInstanceId: 'iot-sh-1',
    productKey: 'a1lampPrev1',
    deviceNames: ['lamp-0002'],
    targets: [{ region: 'eu-central-1', instanceId: 'iot-de-1' }, { region: 'cn-shanghai', instanceId: 'iot-sh-1' }]
  })
  t.equal(res.status, 200, res.text)
  t.match(res.json.devices, [{ deviceName: 'lamp-0002', ok: true, online: true, likely: { address: '8.8.8.8', fallback: false } }])
  await store.disconnected('a1lampPrev1', 'lamp-0002', 's1', Date.now())
})

t.test('whole-job refusals are the real job\'s, with the same status', async t => {
  for (const [body, status, field] of [
    [{ ...regionJob, targetInstanceId: 'iot-gx-1' }, 403, undefined],
    [{ ...regionJob, targetInstanceId: 'iot-sh-1' }, 400, 'targetInstanceId'],
    [{ ...regionJob, productKey: 'a1nothere01' }, 400, 'productKey'],
    [{ ...regionJob, deviceNames: ['bad name'] }, 400, 'deviceNames[0]']
  ] as const) {
    const preview = await acme('POST', '/distribution/jobs?dryRun=true', body)
    t.equal(preview.status, status, preview.text)
    if (field !== undefined) t.equal(preview.json.error.field, field)
  }
  t.equal((await acme('POST', '/distribution/jobs?dryRun=maybe', regionJob)).status, 400, 'dryRun is true or false')
  t.equal((await acme('POST', '/distribution/jobs?dry=true', regionJob)).status, 400, 'an unknown query parameter is refused, not ignored')
  await nothingStored(t)
})

t.test('a cross-account preview neither uses up nor counts the verification code', async t => {
  t.equal((await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })).status, 202)
  const [pending] = (await globex('GET', '/distribution/verification-codes')).json.codes as { code: string }[]
  const job = { method: 'cross-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetAccount: 'globex', targetInstanceId: 'iot-gx-1', productKey: 'a1lampPrev1', deviceNames: ['lamp-0001'] }
  const noCode = await acme('POST', '/distribution/jobs?dryRun=true', job)
  t.equal(noCode.status, 400, 'the code is still required')
  t.equal(noCode.json.error.field, 'verificationCode')
  for (let i = 0; i < 8; i++) {
    const wrong = await acme('POST', '/distribution/jobs?dryRun=true', { ...job, verificationCode: '000000' })
    t.equal(wrong.status, 200, 'a preview does not check the code, so it cannot be used to guess one')
  }
  const right = await acme('POST', '/distribution/jobs?dryRun=true', { ...job, verificationCode: pending?.code })
  t.match(right.json, { targetAccount: 'globex', devices: [{ deviceName: 'lamp-0001', ok: true, destination: 'iot-gx-1' }] })
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes.map((c: { code: string }) => c.code), [pending?.code], 'the code is still pending')
  await nothingStored(t)
  const real = await acme('POST', '/distribution/jobs', { ...job, verificationCode: pending?.code })
  t.equal(real.status, 202, `the real job takes the code the previews left pending: ${real.text}`)
  await untilAsync(async () => (await store.getDevice('a1lampPrev1', 'lamp-0001'))?.instanceId === 'iot-gx-1', 5000, 'the real job to move lamp-0001')
  const moved = await acme('POST', '/distribution/jobs?dryRun=true', { ...regionJob, deviceNames: ['lamp-0001'] })
  t.same(moved.json.devices, [{ deviceName: 'lamp-0001', ok: false, code: 'not_at_source', message: 'device lamp-0001 is not at instance iot-sh-1' }], 'a device that went away is refused as the records would say')
})

t.test('a CSV upload can be previewed too', async t => {
  const form = jobForm('productKey,deviceName\na1lampPrev1,lamp-0002\n')
  const res = await fetch(`${sidecar.url}/api/v1/distribution/jobs?dryRun=true`, { method: 'POST', headers: { Authorization: `Bearer ${TOKENS.acme}` }, body: form })
  t.equal(res.status, 200)
  t.match(await res.json(), { dryRun: true, counts: { total: 1, ok: 1 }, devices: [{ deviceName: 'lamp-0002', destination: 'iot-de-1' }] })
})
