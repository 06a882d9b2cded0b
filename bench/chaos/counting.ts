// The chaos run's verdict, read from the registry once the job and the devices have settled.
//   lost: a device of the job whose record is gone, or that is assigned nowhere, or not where the job sent it;
//   doubly assigned: a device listed twice, recorded more than once by the job, or online at an
//     instance it is not assigned to;
//   never reconnected: a device that was online and moved, and is not connected at its destination.
import { allDeviceNames, type Device, type Store } from '../registry-parts.js'

export interface ChaosCounts {
  lost: number
  doublyAssigned: number
  neverReconnected: number
}

export interface CountInput {
  store: Store
  productKey: string
  jobId: string
  deviceNames: string[]
  online: string[]
  destination: string
}

/** The chaos run names its broker nodes `<instance>-<n>`. */
function onNodeOf (nodeId: string | undefined, instanceId: string | null): boolean {
  return nodeId !== undefined && instanceId !== null && nodeId.startsWith(`${instanceId}-`)
}

/** The three counts, and up to five device names per count to look at. */
export async function countOutcome (input: CountInput): Promise<{ counts: ChaosCounts, examples: Record<keyof ChaosCounts, string[]> }> {
  const { store, productKey, jobId, deviceNames, destination } = input
  const devices: (Device | null)[] = []
  for (let i = 0; i < deviceNames.length; i += 1000) devices.push(...await store.getDevices(productKey, deviceNames.slice(i, i + 1000)))
  const lost: string[] = []
  const doubly: string[] = []
  deviceNames.forEach((dn, i) => {
    const d = devices[i]
    if (d === null || d === undefined || d.instanceId !== destination) lost.push(dn)
    else if (d.online !== null && !onNodeOf(d.online.nodeId, d.instanceId)) doubly.push(dn)
  })
  const listed = await allDeviceNames(store, productKey)
  const seen = new Set<string>()
  for (const dn of listed) {
    if (seen.has(dn)) doubly.push(dn)
    seen.add(dn)
  }
  const recorded = new Map<string, number>()
  for (const r of await store.getRecords(jobId)) recorded.set(r.deviceName, (recorded.get(r.deviceName) ?? 0) + 1)
  for (const [dn, n] of recorded) if (n > 1) doubly.push(dn)

  const byName = new Map(deviceNames.map((dn, i) => [dn, devices[i]]))
  const never = input.online.filter(dn => !onNodeOf(byName.get(dn)?.online?.nodeId, destination))
  return {
    counts: { lost: lost.length, doublyAssigned: new Set(doubly).size, neverReconnected: never.length },
    examples: { lost: lost.slice(0, 5), doublyAssigned: [...new Set(doubly)].slice(0, 5), neverReconnected: never.slice(0, 5) }
  }
}

/** Devices of the job that have no record or more than one: the job's own account of itself. */
export async function unrecorded (store: Store, jobId: string, deviceNames: string[]): Promise<number> {
  const recorded = new Set((await store.getRecords(jobId)).map(r => r.deviceName))
  return deviceNames.filter(dn => !recorded.has(dn)).length
}
