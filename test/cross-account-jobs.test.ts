// docs/distribution.md, "Rule 10", end to end over the real Redis: a cross-account job names the destination account
// (id or name) and instance, carries its owner's code, and afterwards the device, its certificate and
// the product copy belong to the destination; the source no longer sees them. The destination can
// distribute the device back, with a code from the original account's owner.
import t from 'tap'
import { untilAsync } from './helpers/wait.js'
import { startRedisSidecar } from './helpers/redis-sidecar.js'
import type { ApiAnswer } from './helpers/test-sidecar.js'

const ts = await startRedisSidecar(t, 'cross-account', { jobs: true })
const { store, acme, globex } = ts
type Client = typeof acme

const PK = 'a1CrossAcct'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK, parsingScript: 'v1' })
const created = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['cross-0001', 'cross-0002'] })
const secret = created.json.certificates[0].deviceSecret as string
// Runtime data made at the source, to find again when the device comes back (docs/distribution.md, "Rule 4").
await store.connected(PK, 'cross-0001', { instanceId: 'iot-sh-1', nodeId: 'n1', session: 's1', address: '198.51.100.7', at: 1000 })
await store.setProperties(PK, 'cross-0001', 'iot-sh-1', '{"lux":300}')
await store.disconnected(PK, 'cross-0001', 's1', 2000)

/** `from` asks for a code addressed to `to`; `to`'s owner reads it. */
async function codeFrom (from: Client, to: Client, toAccount: string): Promise<string> {
  const sent = await from('POST', '/distribution/verification-codes', { targetAccount: toAccount })
  if (sent.status !== 202) throw new Error(`code refused: ${sent.text}`)
  const codes = (await to('GET', '/distribution/verification-codes')).json.codes as { code: string, createdAt: number }[]
  return codes.sort((a, b) => b.createdAt - a.createdAt)[0]!.code
}

async function finished (client: Client, res: ApiAnswer): Promise<string[]> {
  if (res.status !== 202) throw new Error(`job refused: ${res.text}`)
  await untilAsync(async () => (await client('GET', `/distribution/jobs/${res.json.jobId}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
  const csv = (await client('GET', `/distribution/jobs/${res.json.jobId}/records`)).text
  return csv.trim().split('\n').slice(1)
}

const crossJob = (extra: Record<string, unknown>) => ({
  method: 'cross-account',
  policy: 'region',
  sourceInstanceId: 'iot-sh-1',
  productKey: PK,
  deviceNames: ['cross-0001'],
  targetAccount: 'globex',
  targetInstanceId: 'iot-gx-1',
  ...extra
})

t.test('refused whole, with the field named, storing nothing and using no code', async t => {
  const code = await codeFrom(acme, globex, 'globex')
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['nearest access is not for cross-account', { policy: 'nearest', targets: [{ region: 'eu-central-1', instanceId: 'iot-gx-1' }], targetInstanceId: undefined }, 400, 'method'],
    ['the destination instance must be given', { targetInstanceId: undefined }, 400, 'targetInstanceId'],
    ['the destination account must be given', { targetAccount: undefined }, 400, 'targetAccount'],
    ['an unknown account', { targetAccount: 'nobody' }, 400, 'targetAccount'],
    ['the caller\'s own account', { targetAccount: 'acme', targetInstanceId: 'iot-de-1' }, 400, 'targetAccount'],
    ['an instance that is not the destination account\'s', { targetInstanceId: 'iot-de-1' }, 400, 'targetInstanceId'],
    ['an instance that does not exist', { targetInstanceId: 'iot-zz-9' }, 400, 'targetInstanceId'],
    ['targets belong to nearest access', { targets: [{ region: 'eu-central-1', instanceId: 'iot-gx-1' }] }, 400, 'targets']
  ]
  for (const [what, extra, status, field] of cases) {
    const res = await acme('POST', '/distribution/jobs', crossJob({ verificationCode: code, ...extra }))
    t.equal(res.status, status, `${what}: ${res.text}`)
    t.equal(res.json.error.field, field, what)
  }
  t.equal((await acme('GET', '/distribution/jobs')).json.total, 0)
  t.same((await globex('GET', '/distribution/verification-codes')).json.codes.map((c: { code: string }) => c.code), [code], 'the code is still pending')
})

t.test('after the move the device, its certificate and the product copy belong to the destination', async t => {
  const [code] = (await globex('GET', '/distribution/verification-codes')).json.codes
  // The destination named by its account name this time.
  const records = await finished(acme, await acme('POST', '/distribution/jobs', crossJob({ targetAccount: 'Globex Corp', verificationCode: code.code })))
  t.same(records, [`${PK},cross-0001,success,moved to iot-gx-1; offline`])

  const device = await globex('GET', `/products/${PK}/devices/cross-0001`)
  t.equal(device.status, 200)
  t.match(device.json, { instanceId: 'iot-gx-1', distributed: true, status: 'inactive', originInstanceId: null })
  t.same((await globex('GET', `/products/${PK}/devices/cross-0001/certificate`)).json, { productKey: PK, deviceName: 'cross-0001', deviceSecret: secret }, 'the certificate came along')
  t.same((await globex('GET', `/products/${PK}/devices`)).json.devices.map((d: { deviceName: string }) => d.deviceName), ['cross-0001'])
  t.equal((await globex('PUT', `/products/${PK}/devices/cross-0001/tags`, { site: 'gx' })).status, 200, 'the destination manages it')

  const copy = await globex('GET', `/products/${PK}`)
  t.match(copy.json, { instanceId: 'iot-gx-1', readOnly: true, name: 'Lamp', parsingScript: 'v1', sourceInstanceId: null })
  t.equal((await globex('PATCH', `/products/${PK}`, { name: 'Mine' })).status, 409, 'the copy is read-only')
  t.equal((await globex('DELETE', `/products/${PK}/devices/cross-0001`)).status, 409, 'and the device cannot be deleted there')
  t.same((await globex('GET', '/distribution/devices')).json.devices, [{ productKey: PK, deviceName: 'cross-0001', instanceId: 'iot-gx-1', originInstanceId: null, jobId: null, active: false }], 'listed without naming acme\'s instance or job')
  t.match((await globex('GET', '/distribution/products')).json.products, [{ productKey: PK, instanceId: 'iot-gx-1', sourceInstanceId: null }])
  t.same((await acme('GET', '/distribution/devices')).json.devices, [], 'no longer among acme\'s distributed devices')

  t.equal((await acme('GET', `/products/${PK}/devices/cross-0001`)).status, 404, 'the source no longer sees the device')
  t.equal((await acme('GET', `/products/${PK}/devices/cross-0001/certificate`)).status, 404, 'nor its certificate')
  t.equal((await acme('PUT', `/products/${PK}/devices/cross-0001/tags`, { site: 'sh' }).then(r => r.status)), 404, 'nor manages it')
  t.same((await acme('GET', `/products/${PK}/devices`)).json.devices.map((d: { deviceName: string }) => d.deviceName), ['cross-0002'])
  t.equal((await acme('GET', `/products/${PK}?instanceId=iot-gx-1`)).status, 404, 'nor the copy at the destination')

  const home = await fetch(`${ts.url}/auth/bootstrap`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `productKey=${PK}&deviceName=cross-0001`
  })
  t.match(await home.json(), { code: 200, data: { resources: { mqtt: { host: 'mqtt.globex.example.com' } } } }, 'bootstrap sends it to its new home')
})

t.test('the destination distributes the device back, with a code from the original account\'s owner', async t => {
  const noCode = await globex('POST', '/distribution/jobs', {
    method: 'cross-account', policy: 'region', sourceInstanceId: 'iot-gx-1', productKey: PK, deviceNames: ['cross-0001'], targetAccount: 'acme', targetInstanceId: 'iot-sh-1', verificationCode: '000000'
  })
  t.equal(noCode.status, 403, 'a made-up code does not do')
  const code = await codeFrom(globex, acme, 'acme')
  const records = await finished(globex, await globex('POST', '/distribution/jobs', {
    method: 'cross-account', policy: 'region', sourceInstanceId: 'iot-gx-1', productKey: PK, deviceNames: ['cross-0001'], targetAccount: 'acme', targetInstanceId: 'iot-sh-1', verificationCode: code
  }))
  t.same(records, [`${PK},cross-0001,success,moved to iot-sh-1; offline`])

  const back = await acme('GET', `/products/${PK}/devices/cross-0001`)
  t.match(back.json, { instanceId: 'iot-sh-1', originInstanceId: 'iot-sh-1', distributed: false, tags: {} })
  t.equal((await store.getDevice(PK, 'cross-0001'))?.runtime['iot-sh-1']?.properties, '{"lux":300}', 'runtime data made at the source is there again')
  t.match((await acme('GET', `/products/${PK}`)).json, { readOnly: false, parsingScript: 'v1' }, 'acme keeps its original product')
  t.equal((await globex('GET', `/products/${PK}/devices/cross-0001`)).status, 404, 'globex no longer sees it')
  t.equal((await globex('GET', '/distribution/jobs')).json.total, 1, 'the job back is globex\'s own')
  t.match((await acme('GET', '/distribution/devices')).json.devices, [{ deviceName: 'cross-0001', instanceId: 'iot-sh-1', originInstanceId: 'iot-sh-1', jobId: null }])
  t.same((await globex('GET', '/distribution/devices')).json.devices, [])
  t.equal((await acme('GET', `/distribution/jobs/${(await globex('GET', '/distribution/jobs')).json.jobs[0].id}`)).status, 404, 'and not acme\'s')
  t.equal((await acme('DELETE', `/products/${PK}/devices/cross-0001`)).status, 204, 'back at its origin, it can be deleted there')
})
