// Devices of a product (README.md, "Management API"). Identity is (productKey, deviceName) across
// every instance, so a name stays taken wherever its device went (docs/distribution.md, "Rule 11").
import Router from '@koa/router'
import { z } from 'zod'
import { DEVICE_NAME, PRODUCT_KEY, newDevice } from '../../../shared/device.js'
import type { Store } from '../../../shared/store/store.js'
import type { Account, Certificate, Device, Product } from '../../../shared/types.js'
import { appendEvents } from '../../../shared/timeline.js'
import { homesOf, ownDevice, ownInstance, ownProduct, owns, writable } from '../access.js'
import { parseBody } from '../../http/body.js'
import { nowOf } from '../../clock.js'
import type { ApiState, Sidecar } from '../../context.js'
import { deviceView } from '../device-view.js'
import { disconnectDevice } from '../disconnect.js'
import { ApiError, conflict, notFound } from '../../http/http-error.js'
import { newDeviceName } from '../identifiers.js'
import { DEVICE_STATUSES } from '../../../shared/device-status.js'
import { cursorQuery, encodeCursor, namePrefixQuery } from '../cursor.js'
import { parseQuery } from '../../http/validate.js'
import { pagingQuery, pageWindow } from '../paging.js'
import { taggedPage, tagQuery } from '../tagged-page.js'

/**
 * Devices one request creates: 10,000 names of up to 32 characters are about 350 KiB of JSON, well
 * inside `bootstrap.bodyLimit` (1 MiB); `homing devices import` sends larger fleets in calls of this size.
 */
export const MAX_DEVICES_PER_REQUEST = 10_000

const deviceName = z.string().regex(DEVICE_NAME, 'must be 4-32 characters: letters, digits and _ @ . : -')

const createBody = z.strictObject({
  instanceId: z.string().min(1),
  deviceNames: z.array(deviceName).min(1).max(MAX_DEVICES_PER_REQUEST, `at most ${MAX_DEVICES_PER_REQUEST} devices per request`).optional(),
  count: z.number().int().min(1).max(MAX_DEVICES_PER_REQUEST, `at most ${MAX_DEVICES_PER_REQUEST} devices per request`).optional()
}).superRefine((b, ctx) => {
  if ((b.deviceNames === undefined) === (b.count === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'give either deviceNames or count' })
  const seen = new Set<string>()
  b.deviceNames?.forEach((dn, i) => {
    if (seen.has(dn)) ctx.addIssue({ code: 'custom', path: ['deviceNames', i], message: `"${dn}" appears twice` })
    seen.add(dn)
  })
})

/** Tags: at most 100, keys starting with a letter (so never `__proto__`), printable values. */
const tagsBody = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/, 'tag keys are 1-64 characters: a letter, then letters, digits and _ . : -'),
  z.string().min(1).max(128).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
).refine(tags => Object.keys(tags).length <= 100, 'at most 100 tags')

const atInstance = z.object({ instanceId: z.string().min(1).optional() })
/** A listing by index: `cursor` pages at a constant cost; `offset` still works and reads offset + limit names per bucket. */
const page = atInstance.extend({
  status: z.enum(DEVICE_STATUSES).optional(),
  prefix: namePrefixQuery.optional(),
  /** `key` or `key=value`: read a slice at a time, at most TAG_SCAN_MAX devices a page (tagged-page.ts). */
  tag: tagQuery.optional(),
  cursor: cursorQuery.optional(),
  ...pagingQuery
})
/** A product's devices listing's page when the query names no size. */
const DEFAULT_LIMIT = 100

export function deviceRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>()
  const limit = sidecar.config.bootstrap.bodyLimit
  const mine = (account: Account) => (instanceId: string) => owns(sidecar, account, instanceId)

  // Create by names or by count, all or nothing; the answer is the only listing that carries secrets.
  router.post('/products/:pk/devices', async ctx => {
    const body = await parseBody(ctx, createBody, { limit, accept: ['json'] })
    const product = writable(await ownProduct(sidecar, ctx.state.account, ctx.params.pk as string, body.instanceId))
    const names = body.deviceNames ?? await freeNames(sidecar.store, product.productKey, body.count ?? 0)
    const devices = await createAll(sidecar.store, product, names, nowOf(sidecar))
    await appendEvents(sidecar.store, devices.map(d => ({ productKey: d.productKey, deviceName: d.deviceName, event: { kind: 'created', at: d.createdAt, instanceId: d.originInstanceId } })), sidecar.log)
    ctx.status = 201
    ctx.body = { productKey: product.productKey, instanceId: product.instanceId, certificates: devices.map(certificate) }
  })

  router.get('/products/:pk/devices', async ctx => {
    const query = parseQuery(ctx, page)
    const window = pageWindow(query, DEFAULT_LIMIT)
    const product = await ownProduct(sidecar, ctx.state.account, ctx.params.pk as string, query.instanceId)
    const { productKey, instanceId } = product
    if (query.cursor !== undefined && query.cursor.productKey !== productKey) throw new ApiError(400, 'invalid', 'cursor: is the cursor of another listing', 'cursor')
    // With a cursor (or a tag filter) the page starts after the cursor's name; offset is not used.
    const offset = query.cursor === undefined && query.tag === undefined ? window.offset : 0
    const listing = { productKey, instanceId, status: query.status, prefix: query.prefix, after: query.cursor?.deviceName }
    const [counts, found] = await Promise.all([
      sidecar.store.countDevices(productKey, instanceId, query.prefix),
      query.tag === undefined
        ? sidecar.store.listDevices({ ...listing, offset, limit: window.limit })
        : taggedPage(sidecar.store, listing, query.tag, window.limit)
    ])
    ctx.body = {
      productKey,
      instanceId,
      // The counts are the indexes': a tag filter is not counted (it has no index).
      total: counts[query.status ?? 'total'],
      offset,
      limit: window.limit,
      next: found.next === null ? null : encodeCursor({ productKey, deviceName: found.next }),
      counts,
      devices: found.devices.map(d => deviceView(d, mine(ctx.state.account)))
    }
  })

  router.get('/products/:pk/devices/:dn', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const { device } = await ownDevice(sidecar, ctx.state.account, ctx.params.pk as string, ctx.params.dn as string, instanceId)
    ctx.body = deviceView(device, mine(ctx.state.account))
  })

  // The owner may read the certificate again (Alibaba shows the secret to the owner), on its own route.
  router.get('/products/:pk/devices/:dn/certificate', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const { device } = await ownDevice(sidecar, ctx.state.account, ctx.params.pk as string, ctx.params.dn as string, instanceId)
    ctx.set('Cache-Control', 'no-store')
    ctx.body = certificate(device)
  })

  router.delete('/products/:pk/devices/:dn', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const device = await deletable(sidecar, ctx.state.account, ctx.params.pk as string, ctx.params.dn as string, instanceId)
    await sidecar.store.deleteDevice(device.productKey, device.deviceName)
    // An online device is disconnected at once, not left connected until its next CONNECT.
    await disconnectDevice(sidecar.store, device, 'deleted', nowOf(sidecar))
    ctx.status = 204
  })

  router.put('/products/:pk/devices/:dn/tags', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const { device, instanceId: home } = await ownDevice(sidecar, ctx.state.account, ctx.params.pk as string, ctx.params.dn as string, instanceId)
    const tags = await parseBody(ctx, tagsBody, { limit, accept: ['json'] })
    const updated = await sidecar.store.setTags(device.productKey, device.deviceName, tags)
    if (updated === null) throw notFound(`device "${device.productKey}/${device.deviceName}"`)
    const event = { kind: 'tags' as const, at: nowOf(sidecar), instanceId: home, count: Object.keys(updated.tags).length }
    await appendEvents(sidecar.store, [{ productKey: device.productKey, deviceName: device.deviceName, event }], sidecar.log)
    ctx.body = { tags: updated.tags }
  })

  return router
}

function certificate (device: Device): Certificate {
  return { productKey: device.productKey, deviceName: device.deviceName, deviceSecret: device.deviceSecret }
}

/** `count` generated names that no device of the product has. */
async function freeNames (store: Store, productKey: string, count: number): Promise<string[]> {
  const names = new Set<string>()
  for (let round = 0; names.size < count; round++) {
    if (round === 5) throw new Error('could not generate free device names')
    const fresh: string[] = []
    while (names.size + fresh.length < count) fresh.push(newDeviceName())
    const existing = await store.getDevices(productKey, fresh)
    fresh.forEach((dn, i) => { if (existing[i] === null) names.add(dn) })
  }
  return [...names]
}

/** All or nothing: any taken name refuses the whole request and creates nothing. */
async function createAll (store: Store, product: Product, names: string[], now: number): Promise<Device[]> {
  // docs/distribution.md, "Rule 11": taken anywhere, including by a device distributed away from this instance.
  const existing = await store.getDevices(product.productKey, names)
  const taken = names.filter((_, i) => existing[i] !== null)
  if (taken.length > 0) throw nameTaken(taken)
  const devices = names.map(dn => newDevice(product.productKey, dn, product.instanceId, now))
  const lost = new Set(await store.createDevices(devices))
  if (lost.size > 0) {
    // Another request took a name in between: take back what this one created.
    await Promise.all(devices.filter(d => !lost.has(d.deviceName)).map(d => store.deleteDevice(d.productKey, d.deviceName)))
    throw nameTaken([...lost])
  }
  return devices
}

function nameTaken (taken: string[]): ApiError {
  const more = taken.length > 1 ? ` (and ${taken.length - 1} more)` : ''
  return new ApiError(409, 'conflict', `deviceName "${taken[0]}" is taken${more}: nothing was created`, 'deviceNames')
}

/** docs/distribution.md, "Rule 11": a device is deleted only at the instance where it was created, while it is there. */
async function deletable (sidecar: Sidecar, account: Account, productKey: string, deviceName: string, instanceId?: string): Promise<Device> {
  if (instanceId !== undefined) ownInstance(sidecar, account, instanceId)
  const device = PRODUCT_KEY.test(productKey) && DEVICE_NAME.test(deviceName) ? await sidecar.store.getDevice(productKey, deviceName) : null
  if (device !== null) {
    const origin = device.originInstanceId
    const atOrigin = owns(sidecar, account, origin) && (instanceId === undefined || instanceId === origin)
    if (atOrigin && device.instanceId === origin) return device
    if (atOrigin) throw conflict(`device was distributed away from instance "${origin}": distribute it back, then delete it there`)
    const home = homesOf(device).find(id => owns(sidecar, account, id) && (instanceId === undefined || id === instanceId))
    if (home !== undefined) throw conflict(`device was distributed into instance "${home}" and cannot be deleted there: distribute it back to its source instance, then delete it there`)
  }
  throw notFound(`device "${productKey}/${deviceName}"`)
}

export { atInstance as deviceQuery, createBody as deviceCreateBody, page as deviceListQuery, tagsBody as deviceTagsBody }
