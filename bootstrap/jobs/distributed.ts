// What has been distributed where, for one account (GET /distribution/devices and /products): read
// from the registry itself, so it is what is true now, not what a job once meant to do.
import type { Topology } from '../../shared/config.js'
import type { Store } from '../../shared/store/store.js'
import type { Account, Device } from '../../shared/types.js'
import type { Position } from '../api/cursor.js'

export interface DistributedDevice {
  productKey: string
  deviceName: string
  /** Where the device belongs now (null while it waits for nearest placement). */
  instanceId: string | null
  /** Where it was created; null when that is another account's instance (it came cross-account). */
  originInstanceId: string | null
  /** The last job that moved it; null when that job is another account's. */
  jobId: string | null
  active: boolean
}

export interface DistributedProduct {
  productKey: string
  name: string
  /** The instance holding the read-only copy. */
  instanceId: string
  /** Null when the copy came from another account's instance (docs/distribution.md, "Rule 10"). */
  sourceInstanceId: string | null
  copiedAt: number
}

/** Read-only product copies at the account's instances, by product then instance. */
export async function distributedProducts (store: Store, topology: Topology, account: Account, productKey?: string): Promise<DistributedProduct[]> {
  const out: DistributedProduct[] = []
  for (const instance of topology.instancesOf(account.id)) {
    for (const p of await store.listProducts(instance.id)) {
      if (!p.readOnly || (productKey !== undefined && p.productKey !== productKey)) continue
      const source = p.sourceInstanceId !== null && topology.instance(p.sourceInstanceId)?.account === account.id ? p.sourceInstanceId : null
      out.push({ productKey: p.productKey, name: p.name, instanceId: p.instanceId, sourceInstanceId: source, copiedAt: p.createdAt })
    }
  }
  return out.sort((a, b) => a.productKey.localeCompare(b.productKey) || a.instanceId.localeCompare(b.instanceId))
}

export interface DistributedPage {
  devices: DistributedDevice[]
  /** Where the next page starts after, or null at the end. */
  next: Position | null
  /** Every such device of the account (or of the product), counted from the indexes. */
  total: number
}

/**
 * Devices a job has moved that now live at one of the account's instances (or wait among them for
 * nearest placement), by product in key order, then by name: each product's `moved:<instance>`
 * indexes of the account's instances, merged. A device that went to another account is that
 * account's now (docs/distribution.md, "Rule 10"): it is listed there, not here, and what is shown
 * names none of the other account's instances or jobs. A page costs the same whatever the fleet's
 * size; `offset` walks the pages before it.
 */
export async function distributedDevices (store: Store, topology: Topology, account: Account, page: { productKey?: string, after?: Position, offset: number, limit: number }): Promise<DistributedPage> {
  const mine = topology.instancesOf(account.id).map(i => i.id)
  const mineSet = new Set(mine)
  const jobOwners = new Map<string, string | null>()
  const ownJob = async (jobId: string): Promise<boolean> => {
    if (!jobOwners.has(jobId)) jobOwners.set(jobId, (await store.getJob(jobId))?.accountId ?? null)
    return jobOwners.get(jobId) === account.id
  }
  const at = new Map<string, string[]>()
  for (const id of mine) {
    for (const p of await store.listProducts(id)) {
      if (page.productKey !== undefined && p.productKey !== page.productKey) continue
      at.set(p.productKey, [...(at.get(p.productKey) ?? []), id])
    }
  }
  const products = [...at.keys()].sort()
  const totals = await Promise.all(products.flatMap(pk => (at.get(pk) ?? []).map(id => store.countMarked(pk, id, 'moved'))))
  const total = totals.reduce((a, b) => a + b, 0)

  const found: Device[] = []
  let next: Position | null = null
  let skip = page.offset
  let after = page.after
  for (const pk of products) {
    if (after !== undefined && pk < after.productKey) continue
    let from = after !== undefined && pk === after.productKey ? after.deviceName : undefined
    after = undefined
    for (;;) {
      const want = skip + page.limit - found.length
      const { devices, resume } = await movedAt(store, pk, at.get(pk) ?? [], from, Math.min(want, MAX_READ))
      const taken = devices.slice(skip)
      skip = Math.max(0, skip - devices.length)
      found.push(...taken)
      const last = taken.at(-1)
      if (found.length >= page.limit && last !== undefined) {
        next = resume !== null || pk !== products.at(-1) ? { productKey: pk, deviceName: last.deviceName } : null
        break
      }
      if (resume === null) break
      from = resume
    }
    if (found.length >= page.limit) break
  }
  const devices = await Promise.all(found.map(async d => ({
    productKey: d.productKey,
    deviceName: d.deviceName,
    instanceId: d.instanceId,
    originInstanceId: mineSet.has(d.originInstanceId) ? d.originInstanceId : null,
    jobId: d.lastJobId !== null && await ownJob(d.lastJobId) ? d.lastJobId : null,
    active: d.instanceId !== null && d.runtime[d.instanceId]?.active === true
  })))
  return { devices, next, total }
}

/** Walking past `offset` reads at most this many devices per step. */
const MAX_READ = 1000

/**
 * Up to `limit` moved devices of the product after `from`, over the instances' indexes, merged by
 * name; `resume`: the name to go on after, or null when none is left.
 */
async function movedAt (store: Store, productKey: string, instances: string[], from: string | undefined, limit: number): Promise<{ devices: Device[], resume: string | null }> {
  const pages = await Promise.all(instances.map(instanceId => store.listDevices({ productKey, instanceId, movedOnly: true, after: from, limit })))
  const byName = new Map<string, Device>()
  for (const p of pages) for (const d of p.devices) byName.set(d.deviceName, d)
  const merged = [...byName.values()].sort((a, b) => a.deviceName < b.deviceName ? -1 : 1)
  // Past the smallest `next` of the instances' pages, a name may be missing from a page that stopped earlier.
  const ends = pages.flatMap(p => p.next === null ? [] : [p.next])
  const end = ends.length === 0 ? null : ends.reduce((a, b) => a < b ? a : b)
  const within = end === null ? merged : merged.filter(d => d.deviceName <= end)
  const devices = within.slice(0, limit)
  const resume = within.length > limit ? (devices.at(-1) as Device).deviceName : end
  return { devices, resume }
}
