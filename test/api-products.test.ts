// Products through the management API: create, read, edit, delete; a distributed copy is read-only
// (docs/distribution.md, "Rule 3"); a product with devices is not deleted.
import t from 'tap'
import { newDevice } from '../shared/device.js'
import { MemoryStore } from '../shared/store/memory.js'
import { product } from './helpers/fixtures.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const store = new MemoryStore()
const sidecar = await startTestSidecar(store)
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)
const globex = apiClient(sidecar.url, TOKENS.globex)

t.test('a product created without a productKey gets one like Alibaba\'s', async t => {
  const res = await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Lamp' })
  t.equal(res.status, 201)
  t.match(res.json.productKey, /^a1[A-Za-z0-9]{9}$/)
  t.match(res.json, { instanceId: 'iot-sh-1', name: 'Lamp', topicCategories: [], tsl: null, parsingScript: null, readOnly: false, sourceInstanceId: null })
  t.equal(res.headers.get('location'), `/api/v1/products/${res.json.productKey}?instanceId=iot-sh-1`)
  const again = await acme('GET', `/products/${res.json.productKey}?instanceId=iot-sh-1`)
  t.same(again.json, res.json)
})

t.test('a product created with a productKey and its data reads back the same', async t => {
  const body = {
    instanceId: 'iot-sh-1',
    name: 'Thermostat',
    productKey: 'a1thermo001',
    topicCategories: [{ topic: '/a1thermo001/${deviceName}/user/update' /* eslint-disable-line no-template-curly-in-string */, operation: 'pub', description: 'readings' }],
    tsl: { schema: 'https://example.com/tsl.json', properties: [{ identifier: 'temp' }] },
    parsingScript: 'function rawDataToProtocol(bytes) { return {} }'
  }
  const res = await acme('POST', '/products', body)
  t.equal(res.status, 201)
  t.match(res.json, { ...body, readOnly: false })
  const read = await acme('GET', '/products/a1thermo001')
  t.equal(read.status, 200, 'instanceId may be left out when one of the caller\'s instances holds it')
  t.same(read.json, res.json)
  const list = await acme('GET', '/products?instanceId=iot-sh-1')
  t.ok(list.json.products.some((p: { productKey: string }) => p.productKey === 'a1thermo001'))
})

t.test('a productKey is one product: taken at this or any other instance is a 409', async t => {
  const same = await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'x', productKey: 'a1thermo001' })
  t.equal(same.status, 409)
  t.match(same.json.error.message, /already has product "a1thermo001"/)
  const other = await acme('POST', '/products', { instanceId: 'iot-de-1', name: 'x', productKey: 'a1thermo001' })
  t.equal(other.status, 409)
  const theirs = await globex('POST', '/products', { instanceId: 'iot-gx-1', name: 'x', productKey: 'a1thermo001' })
  t.equal(theirs.status, 409)
  t.same(theirs.json, { error: { code: 'conflict', message: 'productKey "a1thermo001" is taken' } }, 'says nothing of where')
  t.equal(await store.getProduct('a1thermo001', 'iot-gx-1'), null)
})

t.test('another account\'s instance or product is a 404', async t => {
  const create = await globex('POST', '/products', { instanceId: 'iot-sh-1', name: 'x' })
  t.equal(create.status, 404)
  t.same(create.json, { error: { code: 'not_found', message: 'instance "iot-sh-1" not found' } })
  t.equal((await globex('GET', '/products/a1thermo001')).status, 404)
  t.equal((await globex('GET', '/products/a1thermo001?instanceId=iot-sh-1')).status, 404)
  t.equal((await globex('PATCH', '/products/a1thermo001?instanceId=iot-sh-1', { name: 'mine' })).status, 404)
  t.equal((await globex('DELETE', '/products/a1thermo001')).status, 404)
  t.same((await globex('GET', '/products')).json, { products: [] })
  t.equal((await store.getProduct('a1thermo001', 'iot-sh-1'))?.name, 'Thermostat')
})

t.test('product fields are validated and named', async t => {
  const cases: [unknown, string, RegExp][] = [
    [{ instanceId: 'iot-sh-1' }, 'name', /^name is required$/],
    [{ instanceId: 'iot-sh-1', name: '   ' }, 'name', /^name must not be empty$/],
    [{ instanceId: 'iot-sh-1', name: 'x', productKey: 'a1-bad' }, 'productKey', /letters and digits/],
    [{ instanceId: 'iot-sh-1', name: 'x', topicCategories: [{ topic: '/t', operation: 'write' }] }, 'topicCategories[0].operation', /./],
    [{ instanceId: 'iot-sh-1', name: 'x', tsl: [1] }, 'tsl', /./],
    [{ instanceId: 7, name: 'x' }, 'instanceId', /expected string/]
  ]
  for (const [body, field, message] of cases) {
    const res = await acme('POST', '/products', body)
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.json.error.field, field)
    t.match(res.json.error.message, message)
  }
})

t.test('PATCH edits the given fields and nothing else', async t => {
  const before = (await acme('GET', '/products/a1thermo001?instanceId=iot-sh-1')).json
  const res = await acme('PATCH', '/products/a1thermo001?instanceId=iot-sh-1', { name: 'Thermostat 2', parsingScript: null })
  t.equal(res.status, 200)
  t.same({ ...res.json, updatedAt: 0 }, { ...before, name: 'Thermostat 2', parsingScript: null, updatedAt: 0 })
  t.ok(res.json.updatedAt >= before.updatedAt)
  t.equal((await store.getProduct('a1thermo001', 'iot-sh-1'))?.name, 'Thermostat 2')
  const empty = await acme('PATCH', '/products/a1thermo001?instanceId=iot-sh-1', {})
  t.equal(empty.status, 400)
  t.match(empty.json.error.message, /at least one of/)
  const readOnlyField = await acme('PATCH', '/products/a1thermo001?instanceId=iot-sh-1', { readOnly: true })
  t.equal(readOnlyField.status, 400)
  t.equal(readOnlyField.json.error.field, 'readOnly')
})

t.test('a distributed copy can be read but not edited or deleted', async t => {
  await store.createProduct(product('a1thermo001', 'iot-de-1', { name: 'Thermostat', readOnly: true, sourceInstanceId: 'iot-sh-1' }))
  const read = await acme('GET', '/products/a1thermo001?instanceId=iot-de-1')
  t.equal(read.status, 200)
  t.equal(read.json.readOnly, true)
  const ambiguous = await acme('GET', '/products/a1thermo001')
  t.equal(ambiguous.status, 400, 'two of the caller\'s instances hold it: say which')
  t.equal(ambiguous.json.error.field, 'instanceId')
  const patch = await acme('PATCH', '/products/a1thermo001?instanceId=iot-de-1', { name: 'changed' })
  t.equal(patch.status, 409)
  t.match(patch.json.error.message, /read-only copy distributed from "iot-sh-1"/)
  const del = await acme('DELETE', '/products/a1thermo001?instanceId=iot-de-1')
  t.equal(del.status, 409)
  t.equal((await store.getProduct('a1thermo001', 'iot-de-1'))?.name, 'Thermostat', 'the copy is unchanged')
})

t.test('a product is not deleted while it has devices at the instance, or created there and distributed away', async t => {
  await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Plug', productKey: 'a1plug00001' })
  await store.createDevices([newDevice('a1plug00001', 'plug-1', 'iot-sh-1'), newDevice('a1plug00001', 'plug-2', 'iot-sh-1')])
  const busy = await acme('DELETE', '/products/a1plug00001?instanceId=iot-sh-1')
  t.equal(busy.status, 409)
  t.match(busy.json.error.message, /has 2 device\(s\) at instance "iot-sh-1"/)

  await store.deleteDevice('a1plug00001', 'plug-1')
  await store.moveDevice('a1plug00001', 'plug-2', { from: 'iot-sh-1', to: 'iot-de-1', jobId: 'job-1' })
  const away = await acme('DELETE', '/products/a1plug00001?instanceId=iot-sh-1')
  t.equal(away.status, 409)
  t.match(away.json.error.message, /distributed away: distribute them back and delete them first/)

  await store.deleteDevice('a1plug00001', 'plug-2')
  const done = await acme('DELETE', '/products/a1plug00001?instanceId=iot-sh-1')
  t.equal(done.status, 204)
  t.equal((await acme('GET', '/products/a1plug00001?instanceId=iot-sh-1')).status, 404)
})

t.test('an unknown productKey, or one that cannot be a productKey, is a 404', async t => {
  t.equal((await acme('GET', '/products/a1nothing00?instanceId=iot-sh-1')).status, 404)
  t.equal((await acme('GET', '/products/no%7Bsuch%7D?instanceId=iot-sh-1')).status, 404)
  t.equal((await acme('GET', '/products/a1nothing00')).status, 404)
})
