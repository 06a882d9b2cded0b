// A job's counts derive from its records (docs/distribution.md, "Rule 9": `distributed` says the job ran; the records
// say what happened to each device). A device without a record yet is pending.
import { RECORD_CODES } from '../../shared/records.js'
import type { Job, JobRecord } from '../../shared/types.js'

export interface JobCounts {
  total: number
  succeeded: number
  failed: number
  pending: number
}

export const isFailure = (code: string): boolean =>
  code !== RECORD_CODES.success && code !== RECORD_CODES.pending

export function countRecords (job: Pick<Job, 'deviceNames' | 'productKey'>, records: Iterable<JobRecord>): JobCounts {
  const byName = recordsByName(job, records)
  let succeeded = 0
  let failed = 0
  for (const name of job.deviceNames) {
    const code = byName.get(name)?.code
    if (code === RECORD_CODES.success) succeeded++
    else if (code !== undefined && isFailure(code)) failed++
  }
  const total = job.deviceNames.length
  return { total, succeeded, failed, pending: total - succeeded - failed }
}

/** The job's records keyed by device name (records of other products are ignored). */
export function recordsByName (job: Pick<Job, 'productKey'>, records: Iterable<JobRecord>): Map<string, JobRecord> {
  const out = new Map<string, JobRecord>()
  for (const r of records) if (r.productKey === job.productKey) out.set(r.deviceName, r)
  return out
}

/** One record per device, in job order; devices not reached yet show as pending. */
export function recordsInJobOrder (job: Pick<Job, 'deviceNames' | 'productKey'>, records: Iterable<JobRecord>): JobRecord[] {
  const byName = recordsByName(job, records)
  return job.deviceNames.map(deviceName => byName.get(deviceName) ??
    { productKey: job.productKey, deviceName, code: RECORD_CODES.pending, message: '' })
}

/** The job with its stored counts set from `counts` (pending is always total - succeeded - failed). */
export function withCounts (job: Job, counts: JobCounts): Job {
  return { ...job, total: counts.total, succeeded: counts.succeeded, failed: counts.failed }
}
