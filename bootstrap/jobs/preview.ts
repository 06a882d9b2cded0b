// A job's preview (`POST /api/v1/distribution/jobs?dryRun=true`; docs/distribution.md): the whole-job
// checks of a real job, then, per device, where it would go or why it would be refused, as the runner
// decides it (steps.ts, `validate`). Reads only: nothing is stored, no event is published, and a
// cross-account job's verification code is neither used up nor counted as a try (it is checked when
// the job starts), so a preview cannot be used to guess codes.
import type { Topology } from '../../shared/config.js'
import { RECORD_CODES } from '../../shared/records.js'
import type { Store } from '../../shared/store/store.js'
import type { Job } from '../../shared/types.js'
import { destinationInstances, destinationLabel } from './destinations.js'

export type PreviewDevice =
  | { deviceName: string, ok: true, destination: string, candidates: string[], online: boolean }
  | { deviceName: string, ok: false, code: string, message: string }

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

export async function previewJob (job: Job, store: Store, topology: Topology): Promise<Preview> {
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
    return { deviceName, ok: true, destination: destinationLabel(job), candidates, online: device.online !== null }
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
