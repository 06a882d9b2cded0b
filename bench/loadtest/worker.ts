// One load-test worker process: runs its share of the simulated devices (a DeviceClient each, or a
// light device: light-device.ts) and reports counters to the parent; histograms go with the last report.
import { performance } from 'node:perf_hooks'
import { DeviceClient, type DeviceClientOptions } from '../../device/client.js'
import { LightDevice, type LightHooks, type LightShared } from './light-device.js'
import { propertyPostTopic } from '../../shared/topics.js'
import type { Certificate } from '../../shared/types.js'
import type { LoadtestOptions } from './options.js'
import { failureCause, Recorder, type LoopTime, type WorkerReport } from './stats.js'

/** The options a worker runs with: the run's device settings, its share of ramp and in-flight, its offset. */
export type WorkerSettings = Pick<LoadtestOptions,
  'url' | 'sources' | 'ramp' | 'inFlight' | 'publishRate' | 'keepalive' | 'form' | 'signMethod' | 'deviceMode' |
  'connectTimeout' | 'backoffBase' | 'backoffCap' | 'ca' | 'mqttTls'> & {
  /** Offset of this worker's first device in the whole run (spreads devices over sources). */
    offset: number
    reportEveryMs: number
  }

export type ToWorker =
  | { type: 'start', certificates: Certificate[], settings: WorkerSettings }
  | { type: 'stop' }

export type FromWorker =
  | { type: 'ready' }
  | { type: 'progress', report: WorkerReport }
  | { type: 'done', report: WorkerReport }

const TICK_MS = 20
/** How often light devices are looked at for a keepalive ping. */
const PING_SWEEP_MS = 1000

/** What the worker needs of a simulated device, in either mode. */
interface Simulated {
  readonly connected: boolean
  publish: (topic: string, payload: string) => Promise<void>
  stop: () => Promise<void>
}

class Worker {
  readonly recorder = new Recorder()
  /** In start order: clients[i] is certificates[i]. */
  readonly clients: Simulated[] = []
  private light: LightShared | null = null
  private next = 0
  private inFlight = 0
  private budget = 0
  private publishBudget = 0
  private publishId = 0
  private timers: NodeJS.Timeout[] = []

  constructor (readonly certificates: Certificate[], readonly s: WorkerSettings) {}

  /** The ramp: every tick, start as many devices as the rate and the in-flight limit allow. */
  start (): void {
    let last = performance.now()
    this.timers.push(setInterval(() => {
      const now = performance.now()
      const dt = (now - last) / 1000
      last = now
      this.budget = this.s.ramp > 0 ? Math.min(this.budget + this.s.ramp * dt, Math.max(1, this.s.ramp * 0.1)) : Number.POSITIVE_INFINITY
      while (this.next < this.certificates.length && this.inFlight < this.s.inFlight && this.budget >= 1) {
        this.budget--
        this.startDevice(this.next++)
      }
      if (this.s.publishRate > 0) this.publish(dt)
    }, TICK_MS))
    this.timers.push(setInterval(() => this.send({ type: 'progress', report: this.recorder.report(false, loopTime()) }), this.s.reportEveryMs))
    if (this.s.deviceMode === 'light') {
      this.timers.push(setInterval(() => {
        const now = performance.now()
        for (const d of this.clients) (d as LightDevice).ping(now)
      }, PING_SWEEP_MS))
    }
  }

  private startDevice (i: number): void {
    if (this.s.deviceMode === 'light') this.startLight(i)
    else this.startClient(i)
  }

  /** One set of hooks for every light device of the worker: the same counting as startClient's listeners. */
  private lightShared (): LightShared {
    const s = this.s
    const c = this.recorder.counters
    const hooks: LightHooks = {
      bootstrapped: ms => this.recorder.record('bootstrap', ms),
      connected: (d, connectMs) => {
        this.recorder.record('connect', connectMs)
        c.online++
        if (d.everConnected) return
        this.inFlight--
        c.connected++
        const now = Date.now()
        c.firstConnectedAt ??= now
        c.lastConnectedAt = now
      },
      offline: reason => {
        c.online--
        if (reason === 'lost') c.dropped++
      },
      notify: () => this.recorder.notified(),
      rehomed: ms => {
        c.rehomed++
        c.lastRehomedAt = Date.now()
        this.recorder.record('rehome', ms)
      },
      failed: f => this.recorder.fail(failureCause(f))
    }
    return {
      url: s.url,
      keepalive: s.keepalive,
      form: s.form,
      ...(s.signMethod !== undefined ? { signMethod: s.signMethod } : {}),
      connectTimeout: s.connectTimeout,
      backoffBase: s.backoffBase,
      backoffCap: s.backoffCap,
      ...(s.ca !== undefined ? { ca: s.ca } : {}),
      mqttTls: s.mqttTls,
      hooks
    }
  }

  private startLight (i: number): void {
    this.light ??= this.lightShared()
    const sources = this.s.sources
    const device = new LightDevice(this.certificates[i] as Certificate, this.light, sources.length > 0 ? sources[(this.s.offset + i) % sources.length] : undefined)
    this.recorder.counters.started++
    this.inFlight++
    this.clients.push(device)
    device.start()
  }

  private startClient (i: number): void {
    const s = this.s
    const cert = this.certificates[i] as Certificate
    const sources = s.sources
    const options: DeviceClientOptions = {
      certificate: cert,
      bootstrapUrl: s.url,
      keepalive: s.keepalive,
      credentials: { form: s.form, ...(s.signMethod !== undefined ? { signMethod: s.signMethod } : {}) },
      backoff: { baseMs: s.backoffBase, capMs: s.backoffCap },
      connectTimeoutMs: s.connectTimeout,
      ...(sources.length > 0 ? { localAddress: sources[(s.offset + i) % sources.length] } : {}),
      ...(s.ca !== undefined ? { ca: s.ca } : {}),
      mqttTls: s.mqttTls
    }
    const client = new DeviceClient(options)
    const c = this.recorder.counters
    let first = true
    c.started++
    this.inFlight++
    client.on('bootstrapped', e => this.recorder.record('bootstrap', e.ms))
    client.on('connected', e => {
      this.recorder.record('connect', e.connectMs)
      c.online++
      if (!first) return
      first = false
      this.inFlight--
      c.connected++
      const now = Date.now()
      c.firstConnectedAt ??= now
      c.lastConnectedAt = now
    })
    client.on('offline', e => {
      c.online--
      if (e.reason === 'lost') c.dropped++
    })
    client.on('notify', () => this.recorder.notified())
    client.on('rehomed', e => {
      c.rehomed++
      c.lastRehomedAt = Date.now()
      this.recorder.record('rehome', e.ms)
    })
    client.on('attempt-failed', f => this.recorder.fail(failureCause(f)))
    this.clients.push(client)
    void client.start()
  }

  /** docs/protocol.md, "Topics": property posts on the device's own system topic, to random connected devices. */
  private publish (dt: number): void {
    this.publishBudget += this.s.publishRate * dt
    let tries = 0
    while (this.publishBudget >= 1 && tries++ < 4 * this.publishBudget && this.clients.length > 0) {
      const index = Math.floor(Math.random() * this.clients.length)
      const client = this.clients[index] as Simulated
      if (!client.connected) continue
      this.publishBudget--
      const { productKey, deviceName } = this.certificates[index] as Certificate
      const payload = `{"id":"${++this.publishId}","version":"1.0","params":{"t":${Date.now()}},"method":"thing.event.property.post"}`
      client.publish(propertyPostTopic(productKey, deviceName), payload).then(() => this.recorder.counters.published++, () => {})
    }
    if (this.publishBudget > this.s.publishRate) this.publishBudget = this.s.publishRate
  }

  async stop (): Promise<WorkerReport> {
    for (const t of this.timers) clearInterval(t)
    // "online" in the last report is what was held when the stop came, not after it.
    const held = this.recorder.counters.online
    await Promise.all(this.clients.map(c => c.stop()))
    this.recorder.counters.online = held
    return this.recorder.report(true, loopTime())
  }

  send (m: FromWorker): void {
    if (process.connected) process.send?.(m)
  }
}

/** This process's event loop since it started, ms. */
function loopTime (): LoopTime {
  const { idle, active } = performance.eventLoopUtilization()
  return { idle, active }
}

let worker: Worker | null = null

process.on('message', (m: ToWorker) => {
  if (m.type === 'start' && worker === null) {
    worker = new Worker(m.certificates, m.settings)
    worker.start()
  } else if (m.type === 'stop') {
    const w = worker
    void (async () => {
      const report = w !== null ? await w.stop() : new Recorder().report(true)
      process.send?.({ type: 'done', report } satisfies FromWorker, () => process.exit(0))
    })()
  }
})
// The parent going away ends the worker: no orphaned sockets.
process.on('disconnect', () => process.exit(0))
process.send?.({ type: 'ready' } satisfies FromWorker)
