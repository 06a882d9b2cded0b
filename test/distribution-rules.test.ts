// The rules of distribution at the edges (docs/distribution.md, "Rule 1"-5, 11), end to end after real jobs through
// the API, over the real Redis.
import t from 'tap'
import { untilAsync } from './helpers/wait.js'
import { startRedisSidecar } from './helpers/redis-sidecar.js'

const { store, acme } = await startRedisSidecar(t, 'dist-rules', { jobs: true })
const PK = 'a1lampRule1'
const SH = 'iot-sh-1'
const DE = 'iot-de-1'

/** Runs a job to `distributed` through the API and answers its records' codes. */
async function distribute (from: string, to: string, deviceNames: string[]): Promise<string[]> {
  const res = await acme('POST', '/distribution/jobs', { method: 'this-account', policy: 'region', sourceInstanceId: from, targetInstanceId: to, productKey: PK, deviceNames })
  if (res.status !== 202) throw new Error(`job refused: ${res.text}`)
  await untilAsync(async () => (await acme('GET', `/distribution/jobs/${res.json.jobId}`)).json.status === 'distributed', 10_000, 'the job to end distributed')
  const csv = (await acme('GET', `/distribution/jobs/${res.json.jobId}/records`)).text
  return csv.trim().split('\n').slice(1).map(line => line.split(',')[2] as string)
}

await acme('POST', '/products', { instanceId: SH, name: 'Lamp', productKey: PK, topicCategories: [{ topic: `/${PK}/\${deviceName}/user/update`, operation: 'pub' }], tsl: { properties: [{ identifier: 'lux' }] }, parsingScript: 'v1' })
await acme('POST', `/products/${PK}/devices`, { instanceId: SH, deviceNames: ['lamp-0001', 'lamp-0002', 'lamp-0003'] })
await acme('PUT', `/products/${PK}/devices/lamp-0001/tags`, { room: 'hall' })
// Runtime data made at the source: an activation and a property post.
await store.connected(PK, 'lamp-0001', { instanceId: SH, nodeId: 'n1', session: 's1', address: '198.51.100.7', at: 1000 })
await store.setProperties(PK, 'lamp-0001', SH, '{"lux":300}')
await store.disconnected(PK, 'lamp-0001', 's1', 2000)
const codes = await distribute(SH, DE, ['lamp-0001', 'lamp-0002'])
if (codes.join() !== 'success,success') throw new Error(`setup job: ${codes.join()}`)

t.test('docs/distribution.md, "Rule 2", 4, 5: the device belongs to the destination, inactive, tags cleared', async t => {
  const res = await acme('GET', `/products/${PK}/devices/lamp-0001`)
  t.match(res.json, { instanceId: DE, originInstanceId: SH, distributed: true, status: 'inactive', active: false, tags: {} })
})

t.test('docs/distribution.md, "Rule 3": the copy is read-only: no PATCH, no DELETE, no new device under it', async t => {
  const copy = await acme('GET', `/products/${PK}?instanceId=${DE}`)
  t.match(copy.json, { readOnly: true, sourceInstanceId: SH, name: 'Lamp', parsingScript: 'v1', tsl: { properties: [{ identifier: 'lux' }] } })
  const patch = await acme('PATCH', `/products/${PK}?instanceId=${DE}`, { name: 'Renamed' })
  t.equal(patch.status, 409)
  t.match(patch.json.error.message, /read-only copy/)
  t.equal((await acme('DELETE', `/products/${PK}?instanceId=${DE}`)).status, 409)
  const create = await acme('POST', `/products/${PK}/devices`, { instanceId: DE, deviceNames: ['new-0001'] })
  t.equal(create.status, 409)
  t.equal(await store.getDevice(PK, 'new-0001'), null)
  t.equal((await acme('GET', `/products/${PK}?instanceId=${DE}`)).json.name, 'Lamp', 'unchanged')
})

t.test('docs/distribution.md, "Rule 3": later edits at the source do not reach the copy', async t => {
  const patch = await acme('PATCH', `/products/${PK}?instanceId=${SH}`, { name: 'Lamp v2', parsingScript: 'v2' })
  t.equal(patch.status, 200)
  t.match((await acme('GET', `/products/${PK}?instanceId=${DE}`)).json, { name: 'Lamp', parsingScript: 'v1' })
  await distribute(SH, DE, ['lamp-0003'])
  t.match((await acme('GET', `/products/${PK}?instanceId=${DE}`)).json, { name: 'Lamp', parsingScript: 'v1' }, 'nor does a later job replace the snapshot')
})

t.test('docs/distribution.md, "Rule 11": a distributed device cannot be deleted at its destination, nor at its origin while away', async t => {
  const there = await acme('DELETE', `/products/${PK}/devices/lamp-0002?instanceId=${DE}`)
  t.equal(there.status, 409)
  t.match(there.json.error.message, /distribute it back/)
  t.equal((await acme('DELETE', `/products/${PK}/devices/lamp-0002?instanceId=${SH}`)).status, 409)
  t.not(await store.getDevice(PK, 'lamp-0002'), null)
})

t.test('docs/distribution.md, "Rule 11": the source product refuses a new device with the name of one distributed away', async t => {
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: SH, deviceNames: ['lamp-0002'] })
  t.equal(res.status, 409)
  t.match(res.json.error.message, /deviceName "lamp-0002" is taken/)
  t.equal((await store.getDevice(PK, 'lamp-0002'))?.instanceId, DE, 'the distributed device is untouched')
})

t.test('docs/distribution.md, "Rule 1", 4: A -> B -> A; the runtime data is there again and the original product stays', async t => {
  t.same(await distribute(DE, SH, ['lamp-0001', 'lamp-0002']), ['success', 'success'])
  const back = await acme('GET', `/products/${PK}/devices/lamp-0001`)
  t.match(back.json, { instanceId: SH, distributed: false, active: false, firstConnectAt: 1000, lastDisconnectAt: 2000, ipAddress: '198.51.100.7' },
    'inactive until it connects again, with its history at the source')
  t.equal((await store.getDevice(PK, 'lamp-0001'))?.runtime[SH]?.properties, '{"lux":300}', 'the property data stayed at the source')
  t.match((await acme('GET', `/products/${PK}?instanceId=${SH}`)).json, { readOnly: false, name: 'Lamp v2' }, 'the source keeps its own, editable product')
  t.same(await distribute(SH, DE, ['lamp-0001']), ['success'], 'and it can go again')
  t.same(await distribute(DE, SH, ['lamp-0001']), ['success'])
})

t.test('docs/distribution.md, "Rule 11": back at its origin, a device can be deleted there', async t => {
  t.equal((await acme('DELETE', `/products/${PK}/devices/lamp-0002?instanceId=${SH}`)).status, 204)
  t.equal(await store.getDevice(PK, 'lamp-0002'), null)
})

t.test('a device that is not at the source fails alone; the others move', async t => {
  t.same(await distribute(SH, DE, ['lamp-0003', 'lamp-0001', 'lamp-0002']), ['not_at_source', 'success', 'device_not_found'])
})
