// Walking a listing page by page (each page by the last name of the one before), for callers that
// need every device of an index: a recount, a test, the chaos checks.
import type { Device } from '../types.js'
import type { DeviceQuery, Store } from './store.js'

const PAGE = 1000

export async function * devicePages (store: Store, query: Omit<DeviceQuery, 'limit' | 'after' | 'offset'>, limit = PAGE): AsyncGenerator<Device[]> {
  let after: string | undefined
  do {
    const page = await store.listDevices({ ...query, limit, ...(after === undefined ? {} : { after }) })
    yield page.devices
    after = page.next ?? undefined
  } while (after !== undefined)
}

/** Every device of the query, in name order. */
export async function allDevices (store: Store, query: Omit<DeviceQuery, 'limit' | 'after' | 'offset'>): Promise<Device[]> {
  const out: Device[] = []
  for await (const page of devicePages(store, query)) out.push(...page)
  return out
}

/** Every device name of the product, any instance, in name order. */
export async function allDeviceNames (store: Store, productKey: string): Promise<string[]> {
  return (await allDevices(store, { productKey })).map(d => d.deviceName)
}
