// What an account may see: its own instances, the product records those instances hold, and the
// devices assigned to them (README.md, "Management API"). Anything else is "not found", so that the
// existence of another account's instance, product or device does not leak.
import { DEVICE_NAME, homesOf, PRODUCT_KEY } from '../../shared/device.js'
import type { Account, Device, Instance, Product } from '../../shared/types.js'
import type { Sidecar } from '../context.js'
import { ApiError, conflict, notFound } from '../http/http-error.js'

export { homesOf }

export function ownInstance (sidecar: Sidecar, account: Account, instanceId: string): Instance {
  const instance = sidecar.topology.instance(instanceId)
  if (instance === undefined || instance.account !== account.id) throw notFound(`instance "${instanceId}"`)
  return instance
}

/**
 * The caller's record of a product: at `instanceId` when given, else at the one instance of the
 * caller's that holds it (400 asking for instanceId when several do).
 */
export async function ownProduct (sidecar: Sidecar, account: Account, productKey: string, instanceId?: string): Promise<Product> {
  if (instanceId !== undefined) ownInstance(sidecar, account, instanceId)
  if (!PRODUCT_KEY.test(productKey)) throw notFound(`product "${productKey}"`)
  if (instanceId !== undefined) {
    const product = await sidecar.store.getProduct(productKey, instanceId)
    if (product === null) throw notFound(`product "${productKey}" at instance "${instanceId}"`)
    return product
  }
  const mine = (await sidecar.store.productCopies(productKey)).filter(p => owns(sidecar, account, p.instanceId))
  if (mine.length === 0) throw notFound(`product "${productKey}"`)
  if (mine.length > 1) {
    const at = mine.map(p => p.instanceId).sort().join(', ')
    throw new ApiError(400, 'invalid', `instanceId is required: product "${productKey}" is at several of your instances (${at})`, 'instanceId')
  }
  return mine[0] as Product
}

export interface OwnDevice {
  device: Device
  /** The caller's instance the device lives at (assigned, or a placement candidate). */
  instanceId: string
}

/** A device the caller may see: one that lives at one of the caller's instances (at `instanceId` when given). */
export async function ownDevice (sidecar: Sidecar, account: Account, productKey: string, deviceName: string, instanceId?: string): Promise<OwnDevice> {
  if (instanceId !== undefined) ownInstance(sidecar, account, instanceId)
  const device = PRODUCT_KEY.test(productKey) && DEVICE_NAME.test(deviceName) ? await sidecar.store.getDevice(productKey, deviceName) : null
  const home = device === null ? undefined : homesOf(device).find(id => (instanceId === undefined || id === instanceId) && owns(sidecar, account, id))
  if (device === null || home === undefined) throw notFound(`device "${productKey}/${deviceName}"${instanceId === undefined ? '' : ` at instance "${instanceId}"`}`)
  return { device, instanceId: home }
}

export function owns (sidecar: Sidecar, account: Account, instanceId: string): boolean {
  return sidecar.topology.instance(instanceId)?.account === account.id
}

/** docs/distribution.md, "Rule 3": the destination can view a distributed copy, not edit or delete it, nor create devices under it. */
export function writable (product: Product): Product {
  if (product.readOnly) {
    throw conflict(`product "${product.productKey}" at instance "${product.instanceId}" is a read-only copy distributed from "${product.sourceInstanceId ?? 'another instance'}"`)
  }
  return product
}
