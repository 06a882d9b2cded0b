// The isolation rows for GET /distribution/devices and /distribution/products, with real data: a job
// runner has moved acme's devices, one of them to globex, so both accounts hold a copy under the same
// product key. Each account's lists name exactly its own things (test/isolation-routes.test.ts checks
// every other route; with no runner there, both lists were empty and could not fail), and a device's
// timeline on either side of a cross-account move.
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS, type ApiAnswer } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'

const ts = await startTestSidecar(new MemoryStore(), undefined, { jobs: true })
t.teardown(() => ts.close())
const acme = apiClient(ts.url, TOKENS.acme)
const globex = apiClient(ts.url, TOKENS.globex)

async function must (answer: Promise<ApiAnswer>, status: number): Promise<ApiAnswer> {
  const res = await answer
  if (res.status !== status) throw new Error(`setup: ${res.status} ${res.text}`)
  return res
}
async function distributed (res: ApiAnswer, client: typeof acme): Promise<string> {
  if (res.status !== 202) throw new Error(`job refused: ${res.text}`)
  const id = res.json.jobId as string
  await eventually(async () => (await client('GET', `/distribution/jobs/${id}`)).json.status === 'distributed', `job ${id} to end distributed`)
  return id
}

const PK = 'a1IsoShared'
await must(acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Shared lamp', productKey: PK }), 201)
await must(acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['acme-moved', 'to-globex', 'acme-stays'] }), 201)
// Within acme: iot-sh-1 -> iot-de-1 (a copy of the product at iot-de-1).
const acmeJob = await distributed(await acme('POST', '/distribution/jobs', {
  method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', targetInstanceId: 'iot-de-1', productKey: PK, deviceNames: ['acme-moved']
}), acme)
// Across accounts: iot-sh-1 -> globex's iot-gx-1 (globex's own copy under the same product key).
await must(acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' }), 202)
const [code] = (await globex('GET', '/distribution/verification-codes')).json.codes
const crossJob = await distributed(await acme('POST', '/distribution/jobs', {
  method: 'cross-account',
  policy: 'region',
  sourceInstanceId: 'iot-sh-1',
  productKey: PK,
  deviceNames: ['to-globex'],
  targetAccount: 'globex',
  targetInstanceId: 'iot-gx-1',
  verificationCode: code.code
}), acme)

t.test('GET /distribution/devices: each account lists only the devices at its own instances', async t => {
  const mine = await acme('GET', '/distribution/devices')
  t.equal(mine.status, 200)
  t.same(mine.json.devices.map((d: { deviceName: string, instanceId: string }) => `${d.deviceName}@${d.instanceId}`), ['acme-moved@iot-de-1'], 'acme: its move within the account, not the device it gave away')
  t.match(mine.json.devices[0], { originInstanceId: 'iot-sh-1', jobId: acmeJob })

  const theirs = await globex('GET', '/distribution/devices')
  t.equal(theirs.status, 200)
  t.same(theirs.json.devices, [{ productKey: PK, deviceName: 'to-globex', instanceId: 'iot-gx-1', originInstanceId: null, jobId: null, active: false }],
    'globex: the device it received, naming none of acme\'s instances or jobs')
  for (const name of ['acme-moved', 'acme-stays', 'iot-sh-1', 'iot-de-1', acmeJob]) t.notOk(theirs.text.includes(name), `globex's list does not name ${name}`)
  t.same((await globex('GET', `/distribution/devices?productKey=${PK}`)).json.devices.map((d: { deviceName: string }) => d.deviceName), ['to-globex'], 'also when asked by the shared product key')
})

t.test('GET /distribution/products: each account lists only the copies at its own instances', async t => {
  const mine = await acme('GET', '/distribution/products')
  t.equal(mine.status, 200)
  t.same(mine.json.products.map((p: { instanceId: string, sourceInstanceId: string | null }) => `${p.instanceId}<-${String(p.sourceInstanceId)}`), ['iot-de-1<-iot-sh-1'], 'acme: its copy at iot-de-1 only')

  const theirs = await globex('GET', '/distribution/products')
  t.equal(theirs.status, 200)
  t.same(theirs.json.products.map((p: { productKey: string, instanceId: string, sourceInstanceId: string | null }) => [p.productKey, p.instanceId, p.sourceInstanceId]), [[PK, 'iot-gx-1', null]],
    'globex: its copy, the source not named')
  for (const name of ['iot-sh-1', 'iot-de-1']) t.notOk(theirs.text.includes(name), `globex's list does not name ${name}`)
})

t.test('GET /products/:pk/devices/:dn/events: after a cross-account move each account sees only its own side', async t => {
  const theirs = await globex('GET', `/products/${PK}/devices/to-globex/events`)
  t.equal(theirs.status, 200)
  t.same(theirs.json.events.map((e: { kind: string }) => e.kind), ['moved'], 'globex: the move into its instance; the creation at acme\'s instance is left out')
  t.same(Object.keys(theirs.json.events[0]).sort(), ['at', 'kind', 'to'], 'the move names neither the source instance nor the job')
  t.equal(theirs.json.events[0].to, 'iot-gx-1')
  for (const name of ['iot-sh-1', 'iot-de-1', acmeJob, crossJob]) t.notOk(theirs.text.includes(name), `globex's timeline does not name ${name}`)
  t.equal((await acme('GET', `/products/${PK}/devices/to-globex/events`)).status, 404, 'acme no longer sees the device it gave away')

  const mine = await acme('GET', `/products/${PK}/devices/acme-moved/events`)
  t.match(mine.json.events, [{ kind: 'moved', from: 'iot-sh-1', to: 'iot-de-1', jobId: acmeJob }, { kind: 'created', instanceId: 'iot-sh-1' }], 'acme: its own move, whole, newest first')
})
