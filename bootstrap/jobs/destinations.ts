// Where a job sends its devices, whatever its policy: one instance (region policy, this account or
// another), or, under nearest access (docs/distribution.md, "Rule 7"), a set of candidates among which each device is
// placed at its first bootstrap.
import type { MoveOutcome, Store } from '../../shared/store/store.js'
import type { Device, Job } from '../../shared/types.js'

/** Every instance that gets the product's read-only snapshot (docs/distribution.md, "Rule 3" and "Rule 7"). */
export function destinationInstances (job: Job): string[] {
  if (job.policy === 'nearest') return job.targets.map(c => c.instanceId)
  return job.targetInstanceId === null ? [] : [job.targetInstanceId]
}

/** This job already moved the device, and it is still where the job put it (waiting, or placed by it). */
export function movedByThisJob (device: Device, job: Job): boolean {
  if (device.lastJobId !== job.id) return false
  if (job.policy === 'nearest') return device.instanceId === null || job.targets.some(c => c.instanceId === device.instanceId)
  return device.instanceId === job.targetInstanceId
}

/**
 * docs/distribution.md, "Rule 2", one atomic step per device: the region policy moves the assignment (a pipelined
 * batch); nearest access moves the device to "waiting for placement" among the targets.
 */
export async function moveAll (store: Store, job: Job, deviceNames: string[], seen?: Array<Device | null>): Promise<MoveOutcome[]> {
  if (job.policy !== 'nearest') {
    if (job.targetInstanceId === null) return []
    return store.moveDevices(job.productKey, deviceNames, { from: job.sourceInstanceId, to: job.targetInstanceId, jobId: job.id }, seen)
  }
  return Promise.all(deviceNames.map(async deviceName => {
    const outcome = await store.setCandidates(job.productKey, deviceName, { from: job.sourceInstanceId, candidates: job.targets, jobId: job.id })
    // Placed by a bootstrap between an earlier attempt's move and its record: this job's move all the same.
    if (outcome.result === 'not-at-source' && movedByThisJob(outcome.device, job)) return { result: 'already', device: outcome.device }
    return outcome
  }))
}
