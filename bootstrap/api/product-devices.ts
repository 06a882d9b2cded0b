// Every device of a product, at any instance: the registry indexes devices by product only, so
// listings by instance read the product's devices and filter (a page costs one pass over them).
import type { Store } from '../../shared/store/store.js'
import type { Device } from '../../shared/types.js'

const CHUNK = 1000

/** Sorted by deviceName. */
export async function productDevices (store: Store, productKey: string): Promise<Device[]> {
  const names = await store.listDeviceNames(productKey)
  const out: Device[] = []
  for (let i = 0; i < names.length; i += CHUNK) {
    for (const device of await store.getDevices(productKey, names.slice(i, i + CHUNK))) {
      if (device !== null) out.push(device)
    }
  }
  return out
}
