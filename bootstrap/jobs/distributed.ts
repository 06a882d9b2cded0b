// What has been distributed where, for one account (GET /distribution/devices and /products): read
// from the registry itself, so it is what is true now, not what a job once meant to do.
import type { Topology } from '../../shared/config.js'
import type { Store } from '../../shared/store/store.js'
import type { Account } from '../../shared/types.js'

export interface DistributedDevice {
  productKey: string
  deviceName: string
  /** Where the device belongs now (null while it waits for nearest placement). */
  instanceId: string | null
  /** Where it was created. */
  originInstanceId: string
  /** The last job that moved it. */
  jobId: string
  active: boolean
}

export interface DistributedProduct {
  productKey: string
  name: string
  /** The instance holding the read-only copy. */
  instanceId: string
  sourceInstanceId: string | null
  copiedAt: number
}

const READ_BATCH = 1000

/** Read-only product copies at the account's instances, by product then instance. */
export async function distributedProducts (store: Store, topology: Topology, account: Account, productKey?: string): Promise<DistributedProduct[]> {
  const out: DistributedProduct[] = []
  for (const instance of topology.instancesOf(account.id)) {
    for (const p of await store.listProducts(instance.id)) {
      if (!p.readOnly || (productKey !== undefined && p.productKey !== productKey)) continue
      out.push({ productKey: p.productKey, name: p.name, instanceId: p.instanceId, sourceInstanceId: p.sourceInstanceId, copiedAt: p.createdAt })
    }
  }
  return out.sort((a, b) => a.productKey.localeCompare(b.productKey) || a.instanceId.localeCompare(b.instanceId))
}

/** Devices a job has moved that now belong to, or came from, one of the account's instances. */
export async function distributedDevices (store: Store, topology: Topology, account: Account, productKey?: string): Promise<DistributedDevice[]> {
  const mine = new Set(topology.instancesOf(account.id).map(i => i.id))
  const keys = new Set<string>()
  for (const id of mine) for (const p of await store.listProducts(id)) keys.add(p.productKey)
  const out: DistributedDevice[] = []
  for (const pk of [...keys].sort()) {
    if (productKey !== undefined && pk !== productKey) continue
    const names = await store.listDeviceNames(pk)
    for (let i = 0; i < names.length; i += READ_BATCH) {
      for (const d of await store.getDevices(pk, names.slice(i, i + READ_BATCH))) {
        if (d === null || d.lastJobId === null) continue
        if (!(d.instanceId !== null && mine.has(d.instanceId)) && !mine.has(d.originInstanceId)) continue
        out.push({
          productKey: d.productKey,
          deviceName: d.deviceName,
          instanceId: d.instanceId,
          originInstanceId: d.originInstanceId,
          jobId: d.lastJobId,
          active: d.instanceId !== null && d.runtime[d.instanceId]?.active === true
        })
      }
    }
  }
  return out
}
