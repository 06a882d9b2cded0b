// The load test's parent: splits the devices over worker processes, merges their reports, and
// lets a caller (the CLI or a benchmark) wait for a condition before it ends the run.
import type { ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { Certificate } from '../../shared/types.js'
import { endChild, forkTs, nextMessage, sibling } from '../child-process.js'
import { MAX_PER_WORKER } from './options.js'
import { mergeCounters, summarize, type Counters, type LoopTime, type Summary, type WorkerReport } from './stats.js'
import type { FromWorker, ToWorker, WorkerSettings } from './worker.js'

export type RunSettings = Omit<WorkerSettings, 'offset' | 'reportEveryMs' | 'ramp' | 'inFlight' | 'publishRate'> & {
  workers: number
  ramp: number
  inFlight: number
  publishRate: number
  reportEveryMs?: number
  /** Node flags for the workers (e.g. --cpu-prof). */
  nodeArgs?: string[]
}

/** Splits `n` items into `parts` contiguous slices whose sizes differ by at most one. */
export function split<T> (items: T[], parts: number): T[][] {
  const out: T[][] = []
  let start = 0
  for (let i = 0; i < parts; i++) {
    const size = Math.floor(items.length / parts) + (i < items.length % parts ? 1 : 0)
    out.push(items.slice(start, start + size))
    start += size
  }
  return out
}

export interface Loadtest extends EventEmitter {
  on(event: 'progress', listener: (total: Counters) => void): this
  on(event: 'worker-exit', listener: (index: number, code: number | null) => void): this
}

export class Loadtest extends EventEmitter {
  readonly startedAt = Date.now()
  private readonly reports: WorkerReport[]
  private finished: Promise<Summary> | null = null

  constructor (private readonly children: ChildProcess[], readonly devices: number, readonly settings: RunSettings) {
    super()
    this.reports = children.map(() => ({ counters: mergeCounters([]) }))
    children.forEach((child, i) => {
      child.on('message', (m: FromWorker) => {
        if (m.type !== 'progress' && m.type !== 'done') return
        this.reports[i] = m.report
        this.emit('progress', this.total)
      })
      child.on('exit', code => {
        if (code !== 0) this.emit('worker-exit', i, code)
      })
    })
  }

  /** The workers' process ids (to read their CPU time from outside). */
  get pids (): number[] {
    return this.children.flatMap(c => c.pid !== undefined ? [c.pid] : [])
  }

  /** Each worker's event loop time at its latest report (undefined before its first). */
  get loops (): Array<LoopTime | undefined> {
    return this.reports.map(r => r.loop)
  }

  /** The workers' latest counters, summed. */
  get total (): Counters {
    return mergeCounters(this.reports.map(r => r.counters))
  }

  /** Resolves true when `predicate` holds for the totals, false after `timeoutMs`. */
  until (predicate: (total: Counters) => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate(this.total)) return Promise.resolve(true)
    return new Promise(resolve => {
      const onProgress = (total: Counters): void => {
        if (!predicate(total)) return
        cleanup()
        resolve(true)
      }
      const timer = setTimeout(() => {
        cleanup()
        resolve(predicate(this.total))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        this.off('progress', onProgress)
      }
      this.on('progress', onProgress)
    })
  }

  /** Stops every device (DISCONNECT), collects the histograms, ends the workers. */
  finish (): Promise<Summary> {
    this.finished ??= (async () => {
      await Promise.all(this.children.map(async (child, i) => {
        if (!child.connected) return
        const done = nextMessage<Extract<FromWorker, { type: 'done' }>>(child, 'done', 120_000).catch(() => null)
        child.send({ type: 'stop' } satisfies ToWorker, () => {})
        const m = await done
        if (m !== null) this.reports[i] = m.report
        await endChild(child)
      }))
      return summarize({
        devices: this.devices,
        workers: this.children.length,
        sources: this.settings.sources,
        startedAt: this.startedAt,
        endedAt: Date.now(),
        reports: this.reports
      })
    })()
    return this.finished
  }
}

/** Forks the workers and starts the devices. */
export async function startLoadtest (certificates: Certificate[], settings: RunSettings): Promise<Loadtest> {
  const workers = Math.min(settings.workers, certificates.length)
  const shares = split(certificates, workers)
  for (const share of shares) {
    if (share.length > MAX_PER_WORKER) throw new Error(`a worker would hold ${share.length} devices; at most ${MAX_PER_WORKER}`)
  }
  const children = shares.map(() => forkTs(sibling('worker', import.meta.url), {
    nodeArgs: ['--max-old-space-size=4096', ...(settings.nodeArgs ?? [])]
  }))
  try {
    await Promise.all(children.map(c => nextMessage(c, 'ready', 60_000)))
  } catch (err) {
    await Promise.all(children.map(c => endChild(c, 1000)))
    throw err
  }
  const loadtest = new Loadtest(children, certificates.length, settings)
  let offset = 0
  children.forEach((child, i) => {
    const share = shares[i] as Certificate[]
    const w: WorkerSettings = {
      url: settings.url,
      sources: settings.sources,
      ramp: settings.ramp / workers,
      inFlight: Math.max(1, Math.ceil(settings.inFlight / workers)),
      publishRate: settings.publishRate / workers,
      keepalive: settings.keepalive,
      form: settings.form,
      ...(settings.deviceMode !== undefined ? { deviceMode: settings.deviceMode } : {}),
      ...(settings.signMethod !== undefined ? { signMethod: settings.signMethod } : {}),
      connectTimeout: settings.connectTimeout,
      backoffBase: settings.backoffBase,
      backoffCap: settings.backoffCap,
      ...(settings.ca !== undefined ? { ca: settings.ca } : {}),
      mqttTls: settings.mqttTls,
      offset,
      reportEveryMs: settings.reportEveryMs ?? 250
    }
    offset += share.length
    child.send({ type: 'start', certificates: share, settings: w } satisfies ToWorker)
  })
  return loadtest
}
