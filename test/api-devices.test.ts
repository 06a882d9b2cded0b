// Devices through the management API, on the real Redis registry: created all or nothing with their
// certificates, names unique across instances (docs/distribution.md, "Rule 11"), tags, and the delete rules.
import t from 'tap'
import { product } from './helpers/fixtures.js'
import { exchange, readStrict, sdkForm, sdkRequest } from './helpers/strict-http.js'
import { startRedisSidecar } from './helpers/redis-sidecar.js'

const sidecar = await startRedisSidecar(t, 'api-devices')
const { store, acme, globex } = sidecar
const PK = 'a1devices01'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp', productKey: PK })

const names = (res: { json: { certificates: { deviceName: string }[] } }) => res.json.certificates.map(c => c.deviceName)

t.test('devices created by name come back as certificates and can bootstrap', async t => {
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['lamp-1', 'lamp-2'] })
  t.equal(res.status, 201)
  t.equal(res.json.productKey, PK)
  t.equal(res.json.instanceId, 'iot-sh-1')
  t.same(names(res), ['lamp-1', 'lamp-2'])
  for (const c of res.json.certificates) {
    t.equal(c.productKey, PK)
    t.match(c.deviceSecret, /^[0-9a-f]{32}$/)
    t.equal((await store.getDevice(PK, c.deviceName))?.deviceSecret, c.deviceSecret)
  }
  const answer = readStrict((await exchange(sidecar.port, sdkRequest(sdkForm({ productKey: PK, deviceName: 'lamp-1', clientId: `${PK}.lamp-1` })))).raw)
  t.same(answer.violations, [])
  t.match(answer.body, /"host":"mqtt.sh.example.com","port":1883/)
})

t.test('devices created by count get generated names', async t => {
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', count: 5 })
  t.equal(res.status, 201)
  t.equal(res.json.certificates.length, 5)
  t.equal(new Set(names(res)).size, 5)
  for (const dn of names(res)) t.match(dn, /^[A-Za-z0-9]{20}$/)
})

t.test('the request is validated: names by DEVICE_NAME, count 1..1000, one of the two', async t => {
  const cases: [unknown, string | undefined, RegExp][] = [
    [{ instanceId: 'iot-sh-1' }, undefined, /either deviceNames or count/],
    [{ instanceId: 'iot-sh-1', deviceNames: ['abcd'], count: 1 }, undefined, /either deviceNames or count/],
    [{ instanceId: 'iot-sh-1', count: 0 }, 'count', /./],
    [{ instanceId: 'iot-sh-1', count: 10_001 }, 'count', /./],
    [{ instanceId: 'iot-sh-1', count: 1.5 }, 'count', /./],
    [{ instanceId: 'iot-sh-1', deviceNames: [] }, 'deviceNames', /./],
    [{ instanceId: 'iot-sh-1', deviceNames: ['ok-name', 'bad name'] }, 'deviceNames[1]', /4-32 characters/],
    [{ instanceId: 'iot-sh-1', deviceNames: ['abc'] }, 'deviceNames[0]', /4-32 characters/],
    [{ instanceId: 'iot-sh-1', deviceNames: ['twice-1', 'twice-1'] }, 'deviceNames[1]', /appears twice/]
  ]
  for (const [body, field, message] of cases) {
    const res = await acme('POST', `/products/${PK}/devices`, body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.error.field, field, JSON.stringify(body))
    t.match(res.json.error.message, message)
  }
  t.equal(await store.getDevice(PK, 'ok-name'), null)
})

t.test('one taken name refuses the whole request and creates nothing', async t => {
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['fresh-1', 'lamp-2', 'fresh-2'] })
  t.equal(res.status, 409)
  t.same(res.json, { error: { code: 'conflict', message: 'deviceName "lamp-2" is taken: nothing was created', field: 'deviceNames' } })
  t.equal(await store.getDevice(PK, 'fresh-1'), null)
  t.equal(await store.getDevice(PK, 'fresh-2'), null)
})

t.test('the name of a device distributed away stays taken at its source', async t => {
  await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['traveller'] })
  await store.createProduct(product(PK, 'iot-de-1', { readOnly: true, sourceInstanceId: 'iot-sh-1' }))
  await store.moveDevice(PK, 'traveller', { from: 'iot-sh-1', to: 'iot-de-1', jobId: 'job-1' })
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['traveller'] })
  t.equal(res.status, 409)
  t.match(res.json.error.message, /"traveller" is taken/)
})

t.test('no devices are created under a read-only copy', async t => {
  const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-de-1', deviceNames: ['copy-dev'] })
  t.equal(res.status, 409)
  t.match(res.json.error.message, /read-only copy/)
  t.equal(await store.getDevice(PK, 'copy-dev'), null)
})

t.test('a device reads with its status, assignment and tags, never its secret', async t => {
  const res = await acme('GET', `/products/${PK}/devices/lamp-1?instanceId=iot-sh-1`)
  t.equal(res.status, 200)
  t.match(res.json, { productKey: PK, deviceName: 'lamp-1', instanceId: 'iot-sh-1', originInstanceId: 'iot-sh-1', distributed: false, status: 'inactive', active: false, online: false, enabled: true, tags: {} })
  t.notMatch(res.text, /deviceSecret|[0-9a-f]{32}/)

  await store.connected(PK, 'lamp-1', { instanceId: 'iot-sh-1', nodeId: 'n1', session: 's1', address: '203.0.113.5', at: 1000 })
  const online = await acme('GET', `/products/${PK}/devices/lamp-1`)
  t.match(online.json, { status: 'online', active: true, online: true, onlineSince: 1000, firstConnectAt: 1000, ipAddress: '203.0.113.5' })
  await store.disconnected(PK, 'lamp-1', 's1', 2000)
  const offline = await acme('GET', `/products/${PK}/devices/lamp-1`)
  t.match(offline.json, { status: 'offline', active: true, online: false, lastDisconnectAt: 2000 })
})

t.test('the owner may read the certificate again, on its own route', async t => {
  const res = await acme('GET', `/products/${PK}/devices/lamp-2/certificate`)
  t.equal(res.status, 200)
  t.same(res.json, { productKey: PK, deviceName: 'lamp-2', deviceSecret: (await store.getDevice(PK, 'lamp-2'))?.deviceSecret })
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal((await globex('GET', `/products/${PK}/devices/lamp-2/certificate`)).status, 404)
})

t.test('the device list of an instance is paged and holds only the devices there', async t => {
  const all = await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&limit=1000`)
  t.equal(all.status, 200)
  const here = all.json.devices.map((d: { deviceName: string }) => d.deviceName)
  t.equal(all.json.total, 7, 'lamp-1, lamp-2 and five generated')
  t.notOk(here.includes('traveller'), 'a device distributed away is listed where it is now')
  t.same([...here].sort(), here, 'sorted by name')
  const page = await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&offset=2&limit=2`)
  t.same(page.json.devices.map((d: { deviceName: string }) => d.deviceName), here.slice(2, 4))
  t.match(page.json, { total: 7, offset: 2, limit: 2 })
  const there = await acme('GET', `/products/${PK}/devices?instanceId=iot-de-1`)
  t.same(there.json.devices.map((d: { deviceName: string }) => d.deviceName), ['traveller'])
  t.match(there.json.devices[0], { instanceId: 'iot-de-1', originInstanceId: 'iot-sh-1', distributed: true, status: 'inactive' })
  t.equal((await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&limit=0`)).status, 400)
  t.equal((await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&offset=-1`)).status, 400)
})

t.test('tags are an object of strings, validated; a bad request leaves them as they were', async t => {
  const res = await acme('PUT', `/products/${PK}/devices/lamp-2/tags`, { room: 'kitchen', floor: '2' })
  t.equal(res.status, 200)
  t.same(res.json, { tags: { room: 'kitchen', floor: '2' } })
  t.same((await acme('GET', `/products/${PK}/devices/lamp-2`)).json.tags, { room: 'kitchen', floor: '2' })
  const tooMany = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, 'v']))
  for (const body of [{ room: 3 }, { '1st': 'x' }, { __proto__x: 'y', ['__proto__']: 'z' }, { room: '' }, { room: 'a\nb' }, tooMany, ['a']]) {
    const bad = await acme('PUT', `/products/${PK}/devices/lamp-2/tags`, body)
    t.equal(bad.status, 400, JSON.stringify(body).slice(0, 60))
  }
  t.same((await store.getDevice(PK, 'lamp-2'))?.tags, { room: 'kitchen', floor: '2' })
  const cleared = await acme('PUT', `/products/${PK}/devices/lamp-2/tags`, {})
  t.same(cleared.json, { tags: {} })
})

t.test('another account sees none of it', async t => {
  t.equal((await globex('GET', `/products/${PK}/devices/lamp-1`)).status, 404)
  t.equal((await globex('GET', `/products/${PK}/devices/lamp-1?instanceId=iot-sh-1`)).status, 404)
  t.equal((await globex('GET', `/products/${PK}/devices?instanceId=iot-sh-1`)).status, 404)
  t.equal((await globex('GET', `/products/${PK}/devices`)).status, 404)
  t.equal((await globex('PUT', `/products/${PK}/devices/lamp-1/tags`, { mine: 'yes' })).status, 404)
  t.equal((await globex('DELETE', `/products/${PK}/devices/lamp-1`)).status, 404)
  t.equal((await globex('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['intruder'] })).status, 404)
  t.ok(await store.getDevice(PK, 'lamp-1'))
})

t.test('a device is deleted only at its origin while it is there', async t => {
  const into = await acme('DELETE', `/products/${PK}/devices/traveller?instanceId=iot-de-1`)
  t.equal(into.status, 409)
  t.match(into.json.error.message, /distributed into instance "iot-de-1" and cannot be deleted there/)
  const away = await acme('DELETE', `/products/${PK}/devices/traveller?instanceId=iot-sh-1`)
  t.equal(away.status, 409)
  t.match(away.json.error.message, /distributed away from instance "iot-sh-1": distribute it back/)
  t.ok(await store.getDevice(PK, 'traveller'), 'still there')

  await store.moveDevice(PK, 'traveller', { from: 'iot-de-1', to: 'iot-sh-1', jobId: 'job-2' })
  const back = await acme('DELETE', `/products/${PK}/devices/traveller`)
  t.equal(back.status, 204)
  t.equal(await store.getDevice(PK, 'traveller'), null)
  t.equal((await acme('GET', `/products/${PK}/devices/traveller`)).status, 404)
  const reuse = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: ['traveller'] })
  t.equal(reuse.status, 201, 'a deleted device frees its name')
})

t.test('across accounts: the destination cannot delete, the source must take it back first', async t => {
  await store.createProduct(product(PK, 'iot-gx-1', { readOnly: true, sourceInstanceId: 'iot-sh-1' }))
  await store.moveDevice(PK, 'lamp-2', { from: 'iot-sh-1', to: 'iot-gx-1', jobId: 'job-3' })
  const seen = await globex('GET', `/products/${PK}/devices/lamp-2`)
  t.equal(seen.status, 200)
  t.match(seen.json, { instanceId: 'iot-gx-1', originInstanceId: null, distributed: true, tags: {} })
  t.equal((await acme('GET', `/products/${PK}/devices/lamp-2`)).status, 404, 'the source no longer sees it')
  t.equal((await globex('DELETE', `/products/${PK}/devices/lamp-2`)).status, 409)
  t.equal((await acme('DELETE', `/products/${PK}/devices/lamp-2`)).status, 409)
  t.ok(await store.getDevice(PK, 'lamp-2'))
})
