// The sidecar's job runner. Job state lives in the registry, so any sidecar can run any job: it
// takes a short lease, renews it while it works, and a sidecar that dies (kill -9 included) simply
// stops renewing; whoever scans next resumes the job where the records say it stopped.
import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import type { Topology } from '../../shared/config.js'
import { silentLogger, type Logger } from '../../shared/log.js'
import { StoreUnavailableError, type Store } from '../../shared/store/store.js'
import { JobFailure, jobSteps, type JobRun } from './steps.js'

export interface JobRunnerOptions {
  store: Store
  log?: Logger
  /** When given, a job whose instances left the config fails instead of running. */
  topology?: Topology
  /** How often unfinished jobs are looked for (ms); `config.bootstrap.jobPollMs`. */
  pollMs?: number
  /** Lease length (ms): how long a dead runner blocks its job before another resumes it. */
  leaseMs?: number
  /** Devices per pipelined round. */
  batchSize?: number
  /** Attempts that end in an error before the job is marked `failed`. */
  maxAttempts?: number
  /** Lease owner id; unique per runner by default. */
  owner?: string
  /** The sidecar's clock (bootstrap/clock.ts): Date.now unless a test controls time. */
  clock?: () => number
}

/** In-process wake-up: the jobs API calls `wakeJobRunners()` so a new job starts without waiting a poll. */
const wakeups = new EventEmitter()
wakeups.setMaxListeners(0)

export function wakeJobRunners (): void {
  wakeups.emit('wake')
}

export class JobRunner {
  readonly owner: string
  private readonly store: Store
  private readonly log: Logger
  private readonly topology: Topology | null
  private readonly pollMs: number
  private readonly leaseMs: number
  private readonly batchSize: number
  private readonly maxAttempts: number
  private readonly clock: () => number
  private readonly attempts = new Map<string, number>()
  private timer: NodeJS.Timeout | null = null
  private current: Promise<void> | null = null
  private again = false
  private closing = false
  private readonly onWake = (): void => { this.scan() }

  constructor (options: JobRunnerOptions) {
    this.store = options.store
    this.log = options.log ?? silentLogger
    this.topology = options.topology ?? null
    this.pollMs = options.pollMs ?? 1000
    this.leaseMs = options.leaseMs ?? 5000
    this.batchSize = options.batchSize ?? 1000
    this.maxAttempts = options.maxAttempts ?? 5
    this.clock = options.clock ?? Date.now
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
  }

  /** Scans now, then every `pollMs`, and whenever the jobs API wakes it. */
  start (): void {
    if (this.timer !== null || this.closing) return
    wakeups.on('wake', this.onWake)
    this.timer = setInterval(() => { this.scan() }, this.pollMs)
    this.scan()
  }

  /** Looks for unfinished jobs now (a scan in progress runs once more when it ends). */
  scan (): void {
    if (this.closing) return
    if (this.current !== null) {
      this.again = true
      return
    }
    this.current = this.runUnfinished().finally(() => {
      this.current = null
      if (this.again && !this.closing) {
        this.again = false
        this.scan()
      }
    })
  }

  /** Resolves once the runner is idle: after the scan that is running now (useful in tests and benches). */
  async idle (): Promise<void> {
    while (this.current !== null) await this.current
  }

  /** Stops scanning, lets the current batch end, and releases the lease so another runner can resume at once. */
  async close (): Promise<void> {
    this.closing = true
    wakeups.off('wake', this.onWake)
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    await this.current
  }

  private async runUnfinished (): Promise<void> {
    let ids: string[]
    try {
      ids = await this.store.unfinishedJobs()
    } catch (err) {
      this.log.warn({ err }, 'cannot list unfinished jobs; trying again at the next poll')
      return
    }
    for (const id of ids) {
      if (this.closing) return
      await this.runJob(id)
    }
  }

  /** One attempt at one job, under its lease. */
  private async runJob (id: string): Promise<void> {
    try {
      if (!(await this.store.leaseJob(id, this.owner, this.leaseMs))) return // another runner has it
    } catch (err) {
      this.log.warn({ err, jobId: id }, 'cannot lease job')
      return
    }
    const lease = new LeaseKeeper(this.store, id, this.owner, this.leaseMs)
    try {
      const job = await this.store.getJob(id)
      if (job === null || job.status === 'distributed' || job.status === 'failed') return
      const run: JobRun = {
        job,
        store: this.store,
        log: this.log,
        topology: this.topology,
        batchSize: this.batchSize,
        stopped: () => this.closing || lease.lost,
        renew: () => lease.renew()
      }
      for (const step of jobSteps) {
        if (await step(run) === 'stop') return
      }
      this.attempts.delete(id)
      this.log.info({ jobId: id, total: run.job.total, succeeded: run.job.succeeded, failed: run.job.failed }, 'job distributed')
    } catch (err) {
      await this.attemptFailed(id, err)
    } finally {
      lease.stop()
      await this.store.releaseJob(id, this.owner).catch(() => {})
    }
  }

  /** A JobFailure ends the job at once; other errors (registry down, ...) leave it for the next scan, a few times. */
  private async attemptFailed (id: string, err: unknown): Promise<void> {
    // A registry outage is not the job's fault: it waits for the registry however long that takes
    // (docs/operations.md, "Redis outage": no lost job), and only its own errors count towards failing it.
    if (err instanceof StoreUnavailableError) {
      this.log.warn({ err: err.message, jobId: id }, 'registry unavailable; the job resumes when it is back')
      return
    }
    const attempts = (this.attempts.get(id) ?? 0) + 1
    this.attempts.set(id, attempts)
    const final = err instanceof JobFailure || attempts >= this.maxAttempts
    this.log.warn({ err, jobId: id, attempts }, final ? 'job failed' : 'job attempt failed; it resumes at the next scan')
    if (!final) return
    try {
      const job = await this.store.getJob(id)
      if (job === null || job.status === 'distributed') return
      await this.store.updateJob({ ...job, status: 'failed', error: (err as Error).message, updatedAt: this.clock() })
      this.attempts.delete(id)
    } catch (updateErr) {
      this.log.warn({ err: updateErr, jobId: id }, 'cannot mark job failed')
    }
  }
}

/** Renews a job lease in the background while a long step runs; `lost` once another owner took it. */
class LeaseKeeper {
  lost = false
  private readonly timer: NodeJS.Timeout

  constructor (private readonly store: Store, private readonly id: string, private readonly owner: string, private readonly ttlMs: number) {
    this.timer = setInterval(() => { void this.renew() }, Math.max(10, Math.floor(ttlMs / 3)))
  }

  async renew (): Promise<boolean> {
    if (this.lost) return false
    try {
      if (!(await this.store.leaseJob(this.id, this.owner, this.ttlMs))) this.lost = true
    } catch {
      // The registry is unreachable: the next registry call of the job fails and ends the attempt.
    }
    return !this.lost
  }

  stop (): void {
    clearInterval(this.timer)
  }
}
