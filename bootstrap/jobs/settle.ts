// Settling (docs/distribution.md, "Rate, waves and settling"): a job has moved its devices when it is
// `distributed`; it has settled when every device that was online at the source when its move arrived
// (its old broker kicked it: record stage `kicked`) has connected at its destination since. Computed
// from the registry on each read: one read of the job's records and one pipelined read of its kicked
// devices (at most the job's 10,000 devices each), nothing stored, so nothing to keep in step.
import type { Store } from '../../shared/store/store.js'
import type { Device, Job } from '../../shared/types.js'
import { recordsByName } from './counts.js'
import { DEFAULT_SETTLE_TIMEOUT_SECONDS } from './plan.js'

/** At most this many stragglers are named in a job view. */
export const MAX_STRAGGLERS = 100

export type SettleState = 'moving' | 'settling' | 'settled' | 'timed-out'

export interface Settling {
  /** Moved devices whose old broker told them (online at the source when moved). */
  notified: number
  /** Of those, connected at their destination since the job began. */
  reconnected: number
  /** Of those, not connected at their destination yet. */
  away: number
  state: SettleState
  timeoutSeconds: number
  /** Once timed out: the devices still away (at most MAX_STRAGGLERS names, in job order), else null. */
  stragglers: string[] | null
}

export async function settlingOf (job: Job, store: Store, now: number): Promise<Settling> {
  const records = recordsByName(job, await store.getRecords(job.id))
  const kicked = job.deviceNames.filter(name => records.get(name)?.move?.stage === 'kicked')
  const notified = kicked.filter(name => records.get(name)?.move?.kick?.notified === true).length
  const devices = kicked.length === 0 ? [] : await store.getDevices(job.productKey, kicked)
  const away: string[] = []
  kicked.forEach((name, i) => {
    if (!reconnected(devices[i] ?? null, records.get(name)?.move?.to ?? null, job.createdAt)) away.push(name)
  })
  const timeoutSeconds = job.pace?.settleTimeoutSeconds ?? DEFAULT_SETTLE_TIMEOUT_SECONDS
  const state: SettleState = job.status !== 'distributed'
    ? 'moving'
    : away.length === 0 ? 'settled' : now - job.updatedAt >= timeoutSeconds * 1000 ? 'timed-out' : 'settling'
  return {
    notified,
    reconnected: kicked.length - away.length,
    away: away.length,
    state,
    timeoutSeconds,
    stragglers: state === 'timed-out' ? away.slice(0, MAX_STRAGGLERS) : null
  }
}

/**
 * Connected at its destination (`to`, or wherever nearest placement put it) since `since`: the
 * registry's runtime at that instance says so. A device that connected and left again still counts.
 */
function reconnected (device: Device | null, to: string | null, since: number): boolean {
  if (device === null || device.instanceId === null) return false
  if (to !== null && device.instanceId !== to) return false
  const at = device.runtime[device.instanceId]?.lastConnectAt ?? null
  return at !== null && at >= since
}
