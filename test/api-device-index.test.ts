// Listings by index and counts in the management API (README.md, "Management API"): a product's
// devices by status, name prefix and cursor with their counts; counts per instance and per product;
// /distribution/devices by cursor. On a real Redis.
import t from 'tap'
import { TAG_SCAN_MAX } from '../bootstrap/api/tagged-page.js'
import { newDevice } from '../shared/device.js'
import { openRedisStore } from '../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'

const keyPrefix = uniquePrefix('api-index')
const store = await openRedisStore({ url: REDIS_URL, keyPrefix })
const sidecar = await startTestSidecar(store)
t.teardown(async () => {
  await sidecar.close()
  await store.close()
  await dropPrefix(keyPrefix)
})
const acme = apiClient(sidecar.url, TOKENS.acme)
const globex = apiClient(sidecar.url, TOKENS.globex)
const PK = 'a1index0001'
const NAMES = Array.from({ length: 25 }, (_, i) => `lamp-${String(i).padStart(4, '0')}`)
const info = (session: string) => ({ instanceId: 'iot-sh-1', nodeId: 'n1', session, address: null, at: 1 })
t.before(async () => {
  await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Indexed', productKey: PK })
  t.equal((await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: NAMES })).status, 201, 'devices created')
  // 5 online, 3 offline, 1 disabled, the rest never connected.
  for (const dn of NAMES.slice(0, 8)) await store.connected(PK, dn, info(dn))
  for (const dn of NAMES.slice(5, 8)) await store.disconnected(PK, dn, dn, 2)
  await store.disableDevice(PK, NAMES[24] as string, 'iot-sh-1')
})

type Page = { devices: Array<{ deviceName: string, status: string }>, next: string | null, total: number, counts: Record<string, number> }
const list = async (query: string): Promise<Page & { status: number, text: string }> => {
  const res = await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&${query}`)
  return { ...res.json, status: res.status, text: res.text }
}

t.test('a product\'s devices page by cursor, with the counts of the instance', async t => {
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page: Page & { status: number, text: string } = await list(`limit=10${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.equal(page.status, 200, page.text)
    seen.push(...page.devices.map(d => d.deviceName))
    t.same(page.counts, { total: 25, online: 5, offline: 3, inactive: 16, disabled: 1 })
    t.equal(page.total, 25)
    cursor = page.next
    pages++
  } while (cursor !== null && pages < 10)
  t.equal(pages, 3)
  t.same(seen, NAMES, 'every device once, in name order')
})

t.test('by status and name prefix: total is the count of what matches', async t => {
  const online = await list('status=online')
  t.same(online.devices.map(d => d.deviceName), NAMES.slice(0, 5))
  t.ok(online.devices.every(d => d.status === 'online'))
  t.equal(online.total, 5)
  t.equal(online.next, null)
  const offline = await list('status=offline&limit=2')
  t.same(offline.devices.map(d => d.deviceName), NAMES.slice(5, 7))
  t.equal(offline.total, 3)
  const rest = await list(`status=offline&limit=2&cursor=${offline.next ?? ''}`)
  t.same(rest.devices.map(d => d.deviceName), NAMES.slice(7, 8))
  const prefixed = await list('prefix=lamp-001')
  t.same(prefixed.devices.map(d => d.deviceName), NAMES.slice(10, 20))
  t.same(prefixed.counts, { total: 10, online: 0, offline: 0, inactive: 10, disabled: 0 }, 'counts of the names that match')
  t.equal((await list('prefix=lamp-002&status=disabled')).total, 1)
})

t.test('bad cursors and prefixes are 400s that name the field; offset is not used with a cursor', async t => {
  for (const bad of ['cursor=%25%25', 'cursor=bm9wZQ', `cursor=${'A'.repeat(200)}`, 'prefix=a%2Fb', `prefix=${'a'.repeat(33)}`, 'status=sleeping']) {
    const res = await list(bad)
    t.equal(res.status, 400, `${bad}: ${res.text}`)
  }
  const bad = await list('cursor=bm9wZQ')
  t.match(bad, { error: { code: 'invalid', field: 'cursor' } })
  const other = Buffer.from('a1other0001/lamp-0001').toString('base64url')
  t.match(await list(`cursor=${other}`), { status: 400, error: { field: 'cursor' } }, 'the cursor of another product')
  const first = await list('limit=3')
  const second = await list(`limit=3&offset=20&cursor=${first.next ?? ''}`)
  t.same(second.devices.map(d => d.deviceName), NAMES.slice(3, 6))
  t.match(second, { offset: 0 })
})

t.test('instances and products carry their device counts', async t => {
  const instances = (await acme('GET', '/instances')).json.instances as Array<{ id: string, devices: unknown }>
  t.same(instances.find(i => i.id === 'iot-sh-1')?.devices, { total: 25, online: 5, offline: 3, inactive: 16, disabled: 1 })
  t.same(instances.find(i => i.id === 'iot-de-1')?.devices, { total: 0, online: 0, offline: 0, inactive: 0, disabled: 0 })
  const products = (await acme('GET', '/products')).json.products as Array<{ productKey: string, devices: unknown }>
  t.same(products.find(p => p.productKey === PK)?.devices, { total: 25, online: 5, offline: 3, inactive: 16, disabled: 1 })
  const theirs = (await globex('GET', '/instances')).json.instances as Array<{ devices: { total: number } }>
  t.same(theirs.map(i => i.devices.total), [0], 'another account counts its own')
})

t.test('/distribution/devices pages by cursor over the moved devices', async t => {
  await store.createProduct({ ...(await store.getProduct(PK, 'iot-sh-1'))!, instanceId: 'iot-de-1', readOnly: true, sourceInstanceId: 'iot-sh-1' })
  await store.createJob({ id: 'jIndex', accountId: 'acme', method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh-1', productKey: PK, deviceNames: [], targetInstanceId: 'iot-de-1', targets: [], targetAccountId: null, status: 'distributed', total: 0, succeeded: 0, failed: 0, createdAt: 1, updatedAt: 1, error: null })
  const moved = NAMES.filter((_, i) => i % 2 === 1)
  await store.moveDevices(PK, moved, { from: 'iot-sh-1', to: 'iot-de-1', jobId: 'jIndex' })
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await acme('GET', `/distribution/devices?limit=5${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.equal(res.status, 200, res.text)
    t.equal(res.json.total, moved.length)
    seen.push(...(res.json.devices as Array<{ deviceName: string, instanceId: string, jobId: string }>).map(d => `${d.deviceName}@${d.instanceId}:${d.jobId}`))
    cursor = res.json.next
    pages++
  } while (cursor !== null && pages < 10)
  t.same(seen, moved.map(dn => `${dn}@iot-de-1:jIndex`))
  t.equal(pages, 3)
  const byOffset = await acme('GET', '/distribution/devices?offset=10&limit=5')
  t.same(byOffset.json.devices.map((d: { deviceName: string }) => d.deviceName), moved.slice(10, 12), 'offset still works')
  t.equal((await acme('GET', '/distribution/devices?cursor=bm9wZQ')).status, 400)
  t.match((await globex('GET', '/distribution/devices')).json, { total: 0, devices: [], next: null }, 'another account sees none')
  t.same((await list('')).counts, { total: 13, online: 3, offline: 1, inactive: 8, disabled: 1 }, 'counts at the source after the move')
})

t.test('by tag: key or key=value, paged by cursor; a page reads a bounded slice of the listing', async t => {
  const pk = 'a1indexTags'
  t.equal((await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'Tagged', productKey: pk })).status, 201)
  // More devices than one page of a tag filter reads, with the rare tag only at the end.
  const names = Array.from({ length: TAG_SCAN_MAX + 1500 }, (_, i) => `t-${String(i).padStart(5, '0')}`)
  t.same(await store.createDevices(names.map(dn => newDevice(pk, dn, 'iot-sh-1'))), [])
  const blue = names.filter((_, i) => i % 1000 === 7)
  for (const dn of blue) await store.setTags(pk, dn, { colour: 'blue', site: 'b1' })
  const rare = names.at(-3) as string
  await store.setTags(pk, rare, { colour: 'red' })
  const byTag = async (query: string): Promise<Page & { status: number, text: string }> => {
    const res = await acme('GET', `/products/${pk}/devices?instanceId=iot-sh-1&${query}`)
    return { ...res.json, status: res.status, text: res.text }
  }
  const walk = async (tag: string, limit: number): Promise<{ names: string[], pages: Array<Page & { status: number, text: string }> }> => {
    const found: string[] = []
    const pages: Array<Page & { status: number, text: string }> = []
    let cursor: string | null = null
    do {
      const page: Page & { status: number, text: string } = await byTag(`tag=${encodeURIComponent(tag)}&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`)
      t.equal(page.status, 200, page.text)
      pages.push(page)
      found.push(...page.devices.map(d => d.deviceName))
      cursor = page.next
    } while (cursor !== null && pages.length < 50)
    return { names: found, pages }
  }
  const blues = await walk('colour=blue', 3)
  t.same(blues.names, blue, 'every blue device once, in name order, three a page')
  t.same((await walk('site', 100)).names, blue, 'a key alone matches any value')
  const reds = await walk('colour=red', 10)
  t.same(reds.names, [rare])
  t.same(reds.pages[0]?.devices, [], 'the first page read its bounded slice and found nothing')
  t.not(reds.pages[0]?.next, null, 'and says where to go on')
  t.equal(reds.pages[0]?.total, names.length, 'the counts are the listing\'s: a tag is not counted')
  t.same((await walk('colour=green', 10)).names, [])
  for (const bad of ['1colour', 'colour=', 'a'.repeat(65), `colour=${'x'.repeat(129)}`, 'colour=a\u0001b']) {
    const res = await byTag(`tag=${encodeURIComponent(bad)}`)
    t.equal(res.status, 400, `tag ${JSON.stringify(bad.slice(0, 20))} is refused`)
  }
})
