// docs/operations.md, "Redis outage": a job either validates as a whole or is refused as a whole, with a 400 that
// names the problem (line and column for a CSV), and nothing is stored. Over the real Redis.
import t, { type Test } from 'tap'
import { jobForm, uploadJob } from './helpers/job-upload.js'
import { startRedisSidecar } from './helpers/redis-sidecar.js'
import type { ApiAnswer } from './helpers/test-sidecar.js'

const sidecar = await startRedisSidecar(t, 'dist-refusals')
const { store, acme } = sidecar

await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: 'a1lampRef01' })
await acme('POST', '/products/a1lampRef01/devices', { instanceId: 'iot-sh-1', deviceNames: ['lamp-0001', 'lamp-0002'] })

const base = { method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: 'a1lampRef01' }
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `dev-${String(i).padStart(5, '0')}`)

const form = jobForm
const upload = (body: FormData): Promise<ApiAnswer> => uploadJob(sidecar.url, body)

const csvOf = (rows: string[][]): string => ['productKey,deviceName', ...rows.map(r => r.join(','))].join('\n') + '\n'

/** Nothing of a refused job is stored: no job, no record, no device moved, no product copied. */
async function nothingStored (t: Test): Promise<void> {
  t.equal((await store.listJobs({ accountId: 'acme', offset: 0, limit: 10 })).total, 0, 'no job stored')
  t.same((await store.getDevices('a1lampRef01', ['lamp-0001', 'lamp-0002'])).map(d => d?.instanceId), ['iot-sh-1', 'iot-sh-1'], 'no device moved')
  t.equal(await store.getProduct('a1lampRef01', 'iot-de-1'), null, 'no product copied')
}

type Case = [string, () => Promise<ApiAnswer>, number, RegExp, string?]

const cases: Case[] = [
  ['over 10,000 devices', () => acme('POST', '/distribution/jobs', { ...base, deviceNames: names(10_001) }), 400, /^a job holds at most 10000 devices \(got 10001\)$/, 'deviceNames'],
  ['a duplicate device name', () => acme('POST', '/distribution/jobs', { ...base, deviceNames: ['lamp-0001', 'lamp-0002', 'lamp-0001'] }), 400, /^deviceNames\[2\]: duplicate device name "lamp-0001" \(also deviceNames\[0\]\)$/, 'deviceNames[2]'],
  ['a name no device can have', () => acme('POST', '/distribution/jobs', { ...base, deviceNames: ['lamp-0001', 'no'] }), 400, /^deviceNames\[1\]: "no" is not a valid DeviceName/, 'deviceNames[1]'],
  ['an unknown source instance (the same answer as another account\'s)', () => acme('POST', '/distribution/jobs', { ...base, sourceInstanceId: 'iot-xx-9' }), 404, /^instance iot-xx-9 not found$/],
  ['another account\'s source instance', () => acme('POST', '/distribution/jobs', { ...base, sourceInstanceId: 'iot-gx-1' }), 404, /^instance iot-gx-1 not found$/],
  ['an unknown target instance', () => acme('POST', '/distribution/jobs', { ...base, targetInstanceId: 'iot-xx-9' }), 400, /^unknown instance iot-xx-9$/, 'targetInstanceId'],
  ['another account\'s target instance', () => acme('POST', '/distribution/jobs', { ...base, targetInstanceId: 'iot-gx-1' }), 403, /^instance iot-gx-1 belongs to another account; use method "cross-account"$/],
  ['the source as target', () => acme('POST', '/distribution/jobs', { ...base, targetInstanceId: 'iot-sh-1' }), 400, /^targetInstanceId is the source instance$/, 'targetInstanceId'],
  ['no target with policy region', () => acme('POST', '/distribution/jobs', { ...base, targetInstanceId: undefined }), 400, /^targetInstanceId is required/, 'targetInstanceId'],
  ['a product unknown at the source', () => acme('POST', '/distribution/jobs', { ...base, productKey: 'a1nothere01' }), 400, /^product a1nothere01 does not exist at instance iot-sh-1$/, 'productKey'],
  ['nearest access without devices', () => acme('POST', '/distribution/jobs', { ...base, policy: 'nearest', targetInstanceId: undefined, targets: [{ region: 'eu-central-1', instanceId: 'iot-de-1' }] }), 400, /^nearest access cannot distribute the product alone/, 'deviceNames'],
  ['cross-account without a verification code', () => acme('POST', '/distribution/jobs', { ...base, method: 'cross-account', targetAccount: 'globex', targetInstanceId: 'iot-gx-1', deviceNames: ['lamp-0001'] }), 400, /^verificationCode is required/, 'verificationCode'],
  ['cross-account with nearest access', () => acme('POST', '/distribution/jobs', { ...base, method: 'cross-account', policy: 'nearest' }), 400, /^cross-account distribution cannot use policy "nearest"$/, 'method'],
  ['an unknown method', () => acme('POST', '/distribution/jobs', { ...base, method: 'teleport' }), 400, /^method: /, 'method'],
  ['an unknown field', () => acme('POST', '/distribution/jobs', { ...base, cancel: true }), 400, /^unknown field "cancel"$/, 'cancel'],
  ['a body that is not JSON', () => acme('POST', '/distribution/jobs', '{"method":'), 400, /^body is not valid JSON$/],
  ['a CSV over 1,000 rows', () => upload(form(csvOf(names(1001).map(dn => ['a1lampRef01', dn])))), 400, /^the CSV holds 1001 rows; at most 1000 are allowed$/, 'file'],
  ['a malformed CSV', () => upload(form('productKey,deviceName\na1lampRef01,lamp-0001\na1lampRef01,"lamp-0002\n')), 400, /^CSV line 3, column deviceName: malformed CSV: Quote Not Closed/, 'file'],
  ['a CSV row of another product', () => upload(form(csvOf([['a1lampRef01', 'lamp-0001'], ['a1otherPk01', 'lamp-0002']]))), 400, /^CSV line 3, column productKey: "a1otherPk01" is not the job's product a1lampRef01$/, 'file'],
  ['a CSV row of another product than the form\'s', () => upload(form(csvOf([['a1otherPk01', 'lamp-0001']]), { ...base, productKey: 'a1lampRef01' } as Record<string, string>)), 400, /^CSV line 2, column productKey: "a1otherPk01" is not the job's product a1lampRef01$/, 'file'],
  ['a duplicate CSV row', () => upload(form(csvOf([['a1lampRef01', 'lamp-0001'], ['a1lampRef01', 'lamp-0002'], ['a1lampRef01', 'lamp-0001']]))), 400, /^CSV line 4, column deviceName: duplicate device name "lamp-0001" \(also on line 2\)$/, 'file'],
  ['a CSV row with three columns', () => upload(form(csvOf([['a1lampRef01', 'lamp-0001', 'x']]))), 400, /^CSV line 2: expected 2 columns \(productKey,deviceName\), got 3$/, 'file'],
  ['a CSV without the template header', () => upload(form('deviceName,productKey\nlamp-0001,a1lampRef01\n')), 400, /^CSV line 1: the header must be "productKey,deviceName"/, 'file'],
  ['a CSV that lists no device', () => upload(form('productKey,deviceName\n')), 400, /^the CSV lists no devices$/, 'file'],
  ['a form without a file', () => { const f = new FormData(); f.set('method', 'this-account'); return upload(f) }, 400, /^the form has no CSV file$/, 'file'],
  ['a form with an unknown field', () => { const f = form(csvOf([['a1lampRef01', 'lamp-0001']])); f.set('priority', 'high'); return upload(f) }, 400, /^unknown form field "priority"$/, 'priority'],
  ['a form with two files', () => { const f = form(csvOf([['a1lampRef01', 'lamp-0001']])); f.append('more', new Blob(['x']), 'b.csv'); return upload(f) }, 400, /^send one CSV file per job$/, 'file'],
  ['a CSV larger than the body limit', () => upload(form(csvOf([['a1lampRef01', 'lamp-0001']]) + 'x'.repeat(1024 * 1024 + 1))), 413, /^body larger than/]
]

for (const [what, send, status, message, field] of cases) {
  t.test(`refused whole: ${what}`, async t => {
    const res = await send()
    t.equal(res.status, status)
    t.match(res.json.error.message, message)
    if (field !== undefined) t.equal(res.json.error.field, field)
    await nothingStored(t)
  })
}

t.test('the limits themselves are accepted: 10,000 devices in JSON, 1,000 CSV rows', async t => {
  const json = await acme('POST', '/distribution/jobs', { ...base, deviceNames: names(10_000) })
  t.equal(json.status, 202)
  const csv = await upload(form(csvOf(names(1000).map(dn => ['a1lampRef01', dn]))))
  t.equal(csv.status, 202)
  const stored = await store.getJob(csv.json.jobId)
  t.equal(stored?.deviceNames.length, 1000)
  t.equal(stored?.deviceNames[999], 'dev-00999', 'in file order')
})
