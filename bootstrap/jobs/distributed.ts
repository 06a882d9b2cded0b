// What has been distributed where, for one account (GET /distribution/devices and /products): read
// from the registry itself, so it is what is true now, not what a job once meant to do.
import type { Topology } from '../../shared/config.js'
import type { Store } from '../../shared/store/store.js'
import type { Account } from '../../shared/types.js'
import { homesOf } from '../api/access.js'

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

const READ_BATCH = 1000

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

/**
 * Devices a job has moved that now live at one of the account's instances (or wait among them for
 * nearest placement). A device that went to another account is that account's now (docs/distribution.md, "Rule 10"):
 * it is listed there, not here, and what is shown names none of the other account's instances or jobs.
 */
export async function distributedDevices (store: Store, topology: Topology, account: Account, productKey?: string): Promise<DistributedDevice[]> {
  const mine = new Set(topology.instancesOf(account.id).map(i => i.id))
  const jobOwners = new Map<string, string | null>()
  const ownJob = async (jobId: string): Promise<boolean> => {
    if (!jobOwners.has(jobId)) jobOwners.set(jobId, (await store.getJob(jobId))?.accountId ?? null)
    return jobOwners.get(jobId) === account.id
  }
  const keys = new Set<string>()
  for (const id of mine) for (const p of await store.listProducts(id)) keys.add(p.productKey)
  const out: DistributedDevice[] = []
  for (const pk of [...keys].sort()) {
    if (productKey !== undefined && pk !== productKey) continue
    const names = await store.listDeviceNames(pk)
    for (let i = 0; i < names.length; i += READ_BATCH) {
      for (const d of await store.getDevices(pk, names.slice(i, i + READ_BATCH))) {
        if (d === null || d.lastJobId === null) continue
        if (!homesOf(d).some(id => mine.has(id))) continue
        out.push({
          productKey: d.productKey,
          deviceName: d.deviceName,
          instanceId: d.instanceId,
          originInstanceId: mine.has(d.originInstanceId) ? d.originInstanceId : null,
          jobId: await ownJob(d.lastJobId) ? d.lastJobId : null,
          active: d.instanceId !== null && d.runtime[d.instanceId]?.active === true
        })
      }
    }
  }
  return out
}
