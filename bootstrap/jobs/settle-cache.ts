// A job's settling figures are computed from its records (up to 10,000) and its kicked devices on
// each read (settle.ts). A console or a script polling a job view many times a second would spend the
// sidecar's CPU on that, and slow the very job it watches: 20 reads a second of a 10,000-device job
// made it take half as long again (BENCHMARKS.md, "Registry at fleet scale"). So one computation
// serves every read of the same job for up to `ttlMs`, while the job's status is unchanged (its
// batches do not count: the runner writes the job after each) and the sidecar's clock has not moved
// on by more than that (tests move a clock of their own).
import type { Store } from '../../shared/store/store.js'
import type { Job } from '../../shared/types.js'
import { settlingOf, type Settling } from './settle.js'

interface Entry { status: Job['status'], now: number, at: number, value: Promise<Settling> }

export class SettlingCache {
  private readonly entries = new Map<string, Entry>()

  constructor (private readonly ttlMs = 1000, private readonly max = 500) {}

  async get (job: Job, store: Store, now: number): Promise<Settling> {
    const at = performance.now()
    const hit = this.entries.get(job.id)
    if (hit !== undefined && hit.status === job.status && Math.abs(now - hit.now) < this.ttlMs && at - hit.at < this.ttlMs) return await hit.value
    const entry: Entry = { status: job.status, now, at, value: settlingOf(job, store, now) }
    this.entries.delete(job.id)
    this.entries.set(job.id, entry)
    // Oldest first out: the map keeps insertion order.
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string)
    try {
      return await entry.value
    } catch (err) {
      // A failed read is not kept: the next read tries again.
      if (this.entries.get(job.id) === entry) this.entries.delete(job.id)
      throw err
    }
  }
}
