// Job progress, read from the registry when /metrics is scraped: the jobs that are not finished and
// how far their devices got. Reading at scrape time keeps the job runner free of metric calls, and
// the numbers are the registry's own (any sidecar's runner may be working on a job).
import { Gauge } from 'prom-client'
import type { Store } from '../store/store.js'
import type { Job } from '../types.js'
import type { Metrics } from './metrics.js'

/** At most this many unfinished jobs are read per scrape. */
const MAX_JOBS = 200

export function observeJobs (metrics: Metrics, store: Store): void {
  let reading: Promise<Job[]> | null = null
  // Both gauges read the same snapshot of one scrape.
  const snapshot = (): Promise<Job[]> => {
    reading ??= read(store).finally(() => { reading = null })
    return reading
  }
  const registers = [metrics.registry]
  // Registered on construction and read through the registry only.
  new Gauge({ // eslint-disable-line no-new
    name: 'homing_jobs_unfinished',
    help: 'Distribution jobs not yet distributed or failed, by status',
    labelNames: ['status'],
    registers,
    async collect () {
      const jobs = await snapshot().catch(() => null)
      this.reset()
      if (jobs === null) return
      for (const status of ['initializing', 'distributing'] as const) this.set({ status }, 0)
      for (const job of jobs) this.inc({ status: job.status })
    }
  })
  // Registered on construction and read through the registry only.
  new Gauge({ // eslint-disable-line no-new
    name: 'homing_job_devices',
    help: 'Devices of the unfinished jobs: total, succeeded and failed so far',
    labelNames: ['state'],
    registers,
    async collect () {
      const jobs = await snapshot().catch(() => null)
      this.reset()
      if (jobs === null) return
      const sum = (pick: (job: Job) => number): number => jobs.reduce((n, job) => n + pick(job), 0)
      this.set({ state: 'total' }, sum(j => j.total))
      this.set({ state: 'succeeded' }, sum(j => j.succeeded))
      this.set({ state: 'failed' }, sum(j => j.failed))
    }
  })
}

async function read (store: Store): Promise<Job[]> {
  const ids = (await store.unfinishedJobs()).slice(0, MAX_JOBS)
  const jobs = await Promise.all(ids.map(id => store.getJob(id)))
  return jobs.filter((job): job is Job => job !== null && job.status !== 'distributed' && job.status !== 'failed')
}
