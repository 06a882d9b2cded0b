// A job's preview (`POST /api/v1/distribution/jobs?dryRun=true`; docs/distribution.md, "Preview"): the whole-job
// checks of a real job, then, per device, where it would go or why it would be refused, as the runner
// decides it (steps.ts, `validate`). Reads only: nothing is stored, no event is published, and a
// cross-account job's verification code is neither used up nor counted as a try (it is checked when
// the job starts), so a preview cannot be used to guess codes.
import type { Topology } from '../../shared/config.js'
import { choosePlacement } from '../../shared/placement.js'
import { NEAREST_LABEL, RECORD_CODES } from '../../shared/records.js'
import type { Store } from '../../shared/store/store.js'
import type { Job } from '../../shared/types.js'
import { destinationInstances } from './destinations.js'

export type PreviewDevice =
  | { deviceName: string, ok: true, destination: string, candidates: string[], online: boolean, likely?: Likely }
  | { deviceName: string, ok: false, code: string, message: string }

/**
 * Nearest access: where the device would be placed if it bootstrapped from the address it last
 * connected from at the source (the real placement uses the address of its next bootstrap).
 */
export interface Likely { instanceId: string, region: string, fallback: boolean, address: string | null }

export interface Preview {
  dryRun: true
  method: Job['method']
  policy: Job['policy']
  sourceInstanceId: string
  productKey: string
  targetInstanceId: string | null
  targets: Job['targets']
  targetAccount: string | null
  /** Instances that would get the product's read-only copy. */
  productTo: string[]
  counts: { total: number, ok: number, refused: number }
  devices: PreviewDevice[]
}

export async function previewJob (job: Job, store: Store, topology: Topology, defaultRegion?: string): Promise<Preview> {
  const found = job.deviceNames.length === 0 ? [] : await store.getDevices(job.productKey, job.deviceNames)
  const candidates = destinationInstances(job)
  const devices = job.deviceNames.map((deviceName, i): PreviewDevice => {
    const device = found[i] ?? null
    if (device === null) {
      return { deviceName, ok: false, code: RECORD_CODES.deviceNotFound, message: `device ${deviceName} does not exist in product ${job.productKey}` }
    }
    if (device.instanceId !== job.sourceInstanceId) {
      return { deviceName, ok: false, code: RECORD_CODES.notAtSource, message: `device ${deviceName} is not at instance ${job.sourceInstanceId}` }
    }
    const ok = { deviceName, ok: true as const, destination: job.targetInstanceId ?? NEAREST_LABEL, candidates, online: device.online !== null }
    if (job.policy !== 'nearest') return ok
    const address = device.runtime[job.sourceInstanceId]?.lastAddress ?? null
    const choice = choosePlacement(job.targets, topology.regions, address, defaultRegion)
    return { ...ok, likely: { instanceId: choice.candidate.instanceId, region: choice.candidate.region, fallback: choice.fallback, address } }
  })
  const ok = devices.filter(d => d.ok).length
  return {
    dryRun: true,
    method: job.method,
    policy: job.policy,
    sourceInstanceId: job.sourceInstanceId,
    productKey: job.productKey,
    targetInstanceId: job.targetInstanceId,
    targets: job.targets,
    targetAccount: job.targetAccountId,
    productTo: candidates.filter(id => id !== job.sourceInstanceId && topology.instance(id) !== undefined),
    counts: { total: devices.length, ok, refused: devices.length - ok },
    devices
  }
}
