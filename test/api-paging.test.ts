// Every listing of the management API pages one way (README.md, "Management API"): offset and limit,
// with page and pageSize accepted as aliases, and every answer says total, offset and limit.
import t from 'tap'
import { MemoryStore } from '../shared/store/memory.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const sidecar = await startTestSidecar(new MemoryStore())
t.teardown(() => sidecar.close())
const acme = apiClient(sidecar.url, TOKENS.acme)
const PK = 'a1paging001'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Pager', productKey: PK })
const NAMES = ['page-0001', 'page-0002', 'page-0003', 'page-0004', 'page-0005']
t.equal((await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: NAMES })).status, 201, 'devices created')

const listed = (res: { json: { devices: { deviceName: string }[] } }): string[] => res.json.devices.map(d => d.deviceName)
const devices = (query: string) => acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&${query}`)

t.test('a product\'s devices: page and pageSize are aliases of offset and limit', async t => {
  const byOffset = await devices('offset=2&limit=2')
  const byPage = await devices('page=2&pageSize=2')
  t.equal(byPage.status, 200, byPage.text)
  t.same(listed(byPage), listed(byOffset))
  t.same(listed(byPage), ['page-0003', 'page-0004'])
  t.match(byPage.json, { total: 5, offset: 2, limit: 2 })
})

t.test('a product\'s devices: offset and limit win over page and pageSize', async t => {
  const res = await devices('offset=4&page=1&limit=1&pageSize=3')
  t.same(listed(res), ['page-0005'])
  t.match(res.json, { total: 5, offset: 4, limit: 1 })
})

t.test('a product\'s devices: 100 a page unless told, at most 1000', async t => {
  t.match((await devices('')).json, { total: 5, offset: 0, limit: 100 })
  t.match((await devices('page=3')).json, { offset: 200, limit: 100, devices: [] })
  for (const bad of ['pageSize=1001', 'limit=1001', 'page=0', 'pageSize=0', 'offset=-1']) {
    const res = await devices(bad)
    t.equal(res.status, 400, `${bad}: ${res.text}`)
  }
})

t.test('distribution listings: the same parameters and answers, 20 a page unless told', async t => {
  for (const path of ['/distribution/jobs', '/distribution/devices', '/distribution/products']) {
    t.match((await acme('GET', path)).json, { total: 0, offset: 0, limit: 20 }, path)
    t.match((await acme('GET', `${path}?page=3&pageSize=5`)).json, { offset: 10, limit: 5 }, `${path} with page and pageSize`)
    t.match((await acme('GET', `${path}?offset=1&limit=5&page=3`)).json, { offset: 1, limit: 5 }, `${path}: offset wins over page`)
    t.equal((await acme('GET', `${path}?pageSize=1001`)).status, 400, `${path}: pageSize over the maximum`)
  }
})
