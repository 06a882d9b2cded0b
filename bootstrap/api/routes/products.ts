// Products (README.md, "Management API"): one record per (productKey, instance). A distributed copy
// is a read-only snapshot (docs/distribution.md, "Rule 3"): readable, never edited or deleted at the destination.
import Router from '@koa/router'
import { z } from 'zod'
import { PRODUCT_KEY } from '../../../shared/device.js'
import type { Store } from '../../../shared/store/store.js'
import type { Account, Product } from '../../../shared/types.js'
import { ownInstance, ownProduct, owns, writable } from '../access.js'
import { parseBody } from '../../http/body.js'
import { nowOf } from '../../clock.js'
import type { ApiState, Sidecar } from '../../context.js'
import { conflict } from '../../http/http-error.js'
import { newProductKey } from '../identifiers.js'
import { withDeviceCounts } from '../device-counts.js'
import { parseQuery } from '../../http/validate.js'

const name = z.string().trim().min(1).max(64).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
/** Alibaba's topic categories: a topic template and who may use it. */
const topicCategories = z.array(z.strictObject({
  topic: z.string().min(1).max(256),
  operation: z.enum(['pub', 'sub', 'all']),
  description: z.string().max(256).optional()
})).max(100)
/** The TSL model is a JSON object (schema, profile, properties, events, services); kept as given. */
const tsl = z.looseObject({}).nullable()
const parsingScript = z.string().max(256 * 1024).nullable()
const description = z.string().max(100).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')

const createBody = z.strictObject({
  instanceId: z.string().min(1),
  name,
  productKey: z.string().regex(PRODUCT_KEY, 'must be 4-32 letters and digits').optional(),
  description: description.optional(),
  topicCategories: topicCategories.optional(),
  tsl: tsl.optional(),
  parsingScript: parsingScript.optional()
})

const patchBody = z.strictObject({
  name: name.optional(),
  description: description.optional(),
  topicCategories: topicCategories.optional(),
  tsl: tsl.optional(),
  parsingScript: parsingScript.optional()
}).refine(b => Object.keys(b).length > 0, 'give at least one of name, description, topicCategories, tsl, parsingScript')

const atInstance = z.object({ instanceId: z.string().min(1).optional() })

export function productRoutes (sidecar: Sidecar): Router<ApiState> {
  const router = new Router<ApiState>()
  const limit = sidecar.config.bootstrap.bodyLimit

  router.get('/products', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const instances = instanceId === undefined
      ? sidecar.topology.instancesOf(ctx.state.account.id)
      : [ownInstance(sidecar, ctx.state.account, instanceId)]
    const lists = await Promise.all(instances.map(i => sidecar.store.listProducts(i.id)))
    const products = lists.flat().map(p => shown(sidecar, ctx.state.account, p))
    ctx.body = { products: await Promise.all(products.map(p => withDeviceCounts(sidecar.store, p))) }
  })

  router.post('/products', async ctx => {
    const body = await parseBody(ctx, createBody, { limit, accept: ['json'] })
    const instance = ownInstance(sidecar, ctx.state.account, body.instanceId)
    const productKey = body.productKey ?? await unusedProductKey(sidecar.store)
    const now = nowOf(sidecar)
    const product: Product = {
      productKey,
      instanceId: instance.id,
      name: body.name,
      ...(body.description === undefined ? {} : { description: body.description }),
      topicCategories: body.topicCategories ?? [],
      tsl: body.tsl ?? null,
      parsingScript: body.parsingScript ?? null,
      readOnly: false,
      sourceInstanceId: null,
      createdAt: now,
      updatedAt: now
    }
    await claim(sidecar.store, product)
    ctx.status = 201
    ctx.set('Location', `/api/v1/products/${productKey}?instanceId=${encodeURIComponent(instance.id)}`)
    ctx.body = product
  })

  router.get('/products/:pk', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    ctx.body = shown(sidecar, ctx.state.account, await ownProduct(sidecar, ctx.state.account, ctx.params.pk as string, instanceId))
  })

  router.patch('/products/:pk', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const product = writable(await ownProduct(sidecar, ctx.state.account, ctx.params.pk as string, instanceId))
    const patch = await parseBody(ctx, patchBody, { limit, accept: ['json'] })
    const next: Product = { ...product, ...patch, updatedAt: nowOf(sidecar) }
    await sidecar.store.updateProduct(next)
    ctx.body = next
  })

  router.delete('/products/:pk', async ctx => {
    const { instanceId } = parseQuery(ctx, atInstance)
    const product = writable(await ownProduct(sidecar, ctx.state.account, ctx.params.pk as string, instanceId))
    await refuseWhileDevices(sidecar.store, product)
    await sidecar.store.deleteProduct(product.productKey, product.instanceId)
    ctx.status = 204
  })

  return router
}

/** A copy that came from another account (docs/distribution.md, "Rule 10") does not name that account's instance. */
function shown (sidecar: Sidecar, account: Account, product: Product): Product {
  const source = product.sourceInstanceId
  return source === null || owns(sidecar, account, source) ? product : { ...product, sourceInstanceId: null }
}

async function unusedProductKey (store: Store): Promise<string> {
  for (let i = 0; i < 5; i++) {
    const key = newProductKey()
    if ((await store.productCopies(key)).length === 0) return key
  }
  throw new Error('no unused productKey after 5 tries')
}

/**
 * Device identity is (productKey, deviceName) across instances, so a productKey names one product:
 * a second original elsewhere would share its device names. To have it at another instance,
 * distribute it.
 */
async function claim (store: Store, product: Product): Promise<void> {
  const { productKey, instanceId } = product
  const before = await store.productCopies(productKey)
  if (before.some(p => p.instanceId === instanceId)) throw conflict(`instance "${instanceId}" already has product "${productKey}"`)
  if (before.length > 0) throw conflict(`productKey "${productKey}" is taken`)
  if (!await store.createProduct(product)) throw conflict(`instance "${instanceId}" already has product "${productKey}"`)
  // Two creates of one key at two instances at once: neither keeps it.
  if ((await store.productCopies(productKey)).some(p => p.instanceId !== instanceId)) {
    await store.deleteProduct(productKey, instanceId)
    throw conflict(`productKey "${productKey}" is taken`)
  }
}

/** Devices at the instance, or created here and distributed away (docs/distribution.md, "Rule 11" keeps their names here). */
async function refuseWhileDevices (store: Store, product: Product): Promise<void> {
  const here = (await store.countDevices(product.productKey, product.instanceId)).total
  if (here > 0) throw conflict(`product "${product.productKey}" has ${here} device(s) at instance "${product.instanceId}": delete them first`)
  const away = await store.countMarked(product.productKey, product.instanceId, 'away')
  if (away > 0) throw conflict(`${away} device(s) created under product "${product.productKey}" at instance "${product.instanceId}" were distributed away: distribute them back and delete them first`)
}

export { atInstance as productQuery, createBody as productCreateBody, patchBody as productPatchBody }
