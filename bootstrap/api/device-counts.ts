// Device counts of the management API, read from the registry's indexes (a few commands per
// product, whatever the fleet's size): per product copy, and per instance over its products.
import type { DeviceCounts, Store } from '../../shared/store/store.js'
import type { Product } from '../../shared/types.js'

export function noDevices (): DeviceCounts {
  return { total: 0, online: 0, offline: 0, inactive: 0, disabled: 0 }
}

function add (sum: DeviceCounts, counts: DeviceCounts): DeviceCounts {
  for (const k of Object.keys(sum) as Array<keyof DeviceCounts>) sum[k] += counts[k]
  return sum
}

/** The product with the counts of its devices at its instance. */
export async function withDeviceCounts<P extends Product> (store: Store, product: P): Promise<P & { devices: DeviceCounts }> {
  return { ...product, devices: await store.countDevices(product.productKey, product.instanceId) }
}

/** Devices living at the instance, over every product it holds. */
export async function instanceDeviceCounts (store: Store, instanceId: string): Promise<DeviceCounts> {
  const products = await store.listProducts(instanceId)
  const counts = await Promise.all(products.map(p => store.countDevices(p.productKey, instanceId)))
  return counts.reduce(add, noDevices())
}
