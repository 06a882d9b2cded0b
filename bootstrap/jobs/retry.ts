// Retry (docs/distribution.md, "Job lifecycle"). The steps are idempotent, so a retry runs the
// job again and only what is not done yet gets done:
//   - initializing / distributing (stuck): nothing to reset; the runners are woken, and a job whose
//     runner died is resumed as soon as its lease runs out.
//   - failed (the job could not run): back to distributing; its failed devices are tried again.
//   - distributed with failed devices: what a user expects from "Retry" on a finished batch: the
//     failed devices (not found, not at source, ...) are tried again; the moved ones stay as they are.
//   - distributed without failed devices: 409, there is nothing to retry.
import { RECORD_CODES } from '../../shared/records.js'
import type { Store } from '../../shared/store/store.js'
import type { Job, JobRecord } from '../../shared/types.js'
import { conflict } from '../http/http-error.js'
import { countRecords, isFailure, recordsByName, withCounts } from './counts.js'
import { wakeJobRunners } from './runner.js'

/** `now`: the sidecar's clock (bootstrap/clock.ts). */
export async function retryJob (store: Store, job: Job, now: number): Promise<Job> {
  if (job.status === 'initializing' || job.status === 'distributing') {
    wakeJobRunners()
    return job
  }
  const records = recordsByName(job, await store.getRecords(job.id))
  const failed: JobRecord[] = job.deviceNames.flatMap(deviceName => {
    const r = records.get(deviceName)
    return r !== undefined && isFailure(r.code) ? [{ ...r, code: RECORD_CODES.pending, message: 'retrying' }] : []
  })
  if (job.status === 'distributed' && failed.length === 0) {
    throw conflict(`job ${job.id} is distributed and no device failed: nothing to retry`)
  }
  // Records first: a crash in between leaves a finished job that a second retry picks up again.
  await store.putRecords(job.id, failed)
  for (const r of failed) records.set(r.deviceName, r)
  const next: Job = { ...withCounts(job, countRecords(job, records.values())), status: 'distributing', error: null, updatedAt: now }
  await store.updateJob(next)
  wakeJobRunners()
  return next
}
