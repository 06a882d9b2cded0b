// What a load test counts: counters, latency histograms (HDR) and failures by cause. Workers keep
// one each and send it to the parent, which merges them into the summary.
import * as hdr from 'hdr-histogram-js'
import { BootstrapError } from '../../device/bootstrap.js'
import { ConnectFailedError, ConnectRefusedError } from '../../device/connect.js'
import type { FailedAttempt } from '../../device/client.js'

export const LATENCIES = ['bootstrap', 'connect', 'rehome'] as const
export type LatencyName = typeof LATENCIES[number]

export interface Counters {
  /** Devices whose homing started. */
  started: number
  /** Devices connected for the first time. */
  connected: number
  /** Devices holding a connection now. */
  online: number
  /** Connections lost without a notify (a drop). */
  dropped: number
  notified: number
  rehomed: number
  published: number
  /** Epoch ms of the first and the latest first-time CONNACK, of the first and the latest notify, and of the latest re-home. */
  firstConnectedAt: number | null
  lastConnectedAt: number | null
  firstNotifiedAt: number | null
  lastNotifiedAt: number | null
  lastRehomedAt: number | null
  failures: Record<string, number>
}

/**
 * The worker's event loop so far (perf_hooks eventLoopUtilization, ms): busy against idle over a
 * window says whether the generator had headroom, whatever CPU it got from the machine.
 */
export interface LoopTime {
  idle: number
  active: number
}

/** What a worker sends its parent: counters, and on the last report the encoded histograms. */
export interface WorkerReport {
  counters: Counters
  loop?: LoopTime
  histograms?: Record<LatencyName, string>
}

export function emptyCounters (): Counters {
  return { started: 0, connected: 0, online: 0, dropped: 0, notified: 0, rehomed: 0, published: 0, firstConnectedAt: null, lastConnectedAt: null, firstNotifiedAt: null, lastNotifiedAt: null, lastRehomedAt: null, failures: {} }
}

const newHistogram = (): hdr.Histogram => hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true })

/** Latencies are recorded in microseconds, reported in milliseconds. */
export class Recorder {
  readonly counters = emptyCounters()
  readonly histograms: Record<LatencyName, hdr.Histogram> = { bootstrap: newHistogram(), connect: newHistogram(), rehome: newHistogram() }

  record (name: LatencyName, ms: number): void {
    this.histograms[name].recordValue(Math.max(1, Math.round(ms * 1000)))
  }

  fail (cause: string): void {
    this.counters.failures[cause] = (this.counters.failures[cause] ?? 0) + 1
  }

  /** A notify arrived (epoch ms). */
  notified (now = Date.now()): void {
    const c = this.counters
    c.notified++
    c.firstNotifiedAt ??= now
    c.lastNotifiedAt = now
  }

  report (withHistograms: boolean, loop?: LoopTime): WorkerReport {
    const counters = { ...this.counters, failures: { ...this.counters.failures } }
    const base = { counters, ...(loop !== undefined ? { loop } : {}) }
    if (!withHistograms) return base
    const histograms = Object.fromEntries(LATENCIES.map(n => [n, hdr.encodeIntoCompressedBase64(this.histograms[n])])) as Record<LatencyName, string>
    return { ...base, histograms }
  }
}

/** A short, stable name for why an attempt failed: the key of "failures by cause". */
export function failureCause (f: Pick<FailedAttempt, 'error' | 'step'>): string {
  const e = f.error
  if (e instanceof BootstrapError) {
    if (e.status !== null) return `bootstrap ${e.status}`
    if (/timed out/.test(e.message)) return 'bootstrap timeout'
    const code = (e.cause as NodeJS.ErrnoException | undefined)?.code
    return code !== undefined ? `bootstrap ${code}` : 'bootstrap bad answer'
  }
  if (e instanceof ConnectRefusedError) return `CONNACK ${e.returnCode}`
  if (e instanceof ConnectFailedError) {
    const code = (e.cause as NodeJS.ErrnoException | null | undefined)?.code
    return typeof code === 'string' ? `connect ${code}` : 'connect no CONNACK'
  }
  return `${f.step} ${e.name}`
}

const maxOrNull = (a: number | null, b: number | null): number | null => a === null ? b : b === null ? a : Math.max(a, b)
const minOrNull = (a: number | null, b: number | null): number | null => a === null ? b : b === null ? a : Math.min(a, b)

/** Share of a window the loop was busy, from two readings of LoopTime (0..1; 0 for an empty window). */
export function loopBusy (from: LoopTime, to: LoopTime): number {
  const active = to.active - from.active
  const total = active + to.idle - from.idle
  return total > 0 ? active / total : 0
}

/** Sums the workers' counters (online is a gauge: the sum of what each holds now). */
export function mergeCounters (all: Counters[]): Counters {
  const out = emptyCounters()
  for (const c of all) {
    for (const k of ['started', 'connected', 'online', 'dropped', 'notified', 'rehomed', 'published'] as const) out[k] += c[k]
    out.firstConnectedAt = minOrNull(out.firstConnectedAt, c.firstConnectedAt)
    out.lastConnectedAt = maxOrNull(out.lastConnectedAt, c.lastConnectedAt)
    out.firstNotifiedAt = minOrNull(out.firstNotifiedAt, c.firstNotifiedAt)
    out.lastNotifiedAt = maxOrNull(out.lastNotifiedAt, c.lastNotifiedAt)
    out.lastRehomedAt = maxOrNull(out.lastRehomedAt, c.lastRehomedAt)
    for (const [cause, n] of Object.entries(c.failures)) out.failures[cause] = (out.failures[cause] ?? 0) + n
  }
  return out
}

export interface LatencySummary {
  count: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

export interface Summary {
  devices: number
  workers: number
  sources: string[]
  startedAt: string
  /** Start -> end of the run, seconds. */
  elapsedS: number
  connected: number
  /** First-time connections per second, from the start to the last first CONNACK. */
  connectRate: number
  /** Held at the end of the run. */
  online: number
  dropped: number
  notified: number
  rehomed: number
  published: number
  latencyMs: Record<LatencyName, LatencySummary>
  failures: Record<string, number>
}

export function mergeHistograms (encoded: string[]): hdr.Histogram {
  const total = newHistogram()
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e, 32, false))
  return total
}

const round = (x: number): number => Math.round(x * 100) / 100

export function latencySummary (h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }
  const ms = (us: number): number => round(us / 1000)
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
    mean: ms(h.mean)
  }
}

export function summarize (input: { devices: number, workers: number, sources: string[], startedAt: number, endedAt: number, reports: WorkerReport[] }): Summary {
  const c = mergeCounters(input.reports.map(r => r.counters))
  const latencyMs = Object.fromEntries(LATENCIES.map(n => {
    const encoded = input.reports.flatMap(r => r.histograms?.[n] !== undefined ? [r.histograms[n]] : [])
    return [n, latencySummary(mergeHistograms(encoded))]
  })) as Record<LatencyName, LatencySummary>
  const rampS = c.lastConnectedAt === null ? 0 : (c.lastConnectedAt - input.startedAt) / 1000
  return {
    devices: input.devices,
    workers: input.workers,
    sources: input.sources,
    startedAt: new Date(input.startedAt).toISOString(),
    elapsedS: round((input.endedAt - input.startedAt) / 1000),
    connected: c.connected,
    connectRate: rampS > 0 ? round(c.connected / rampS) : 0,
    online: c.online,
    dropped: c.dropped,
    notified: c.notified,
    rehomed: c.rehomed,
    published: c.published,
    latencyMs,
    failures: c.failures
  }
}

/** The closing table: one line per figure, latencies as p50 / p90 / p99 / max. */
export function summaryTable (s: Summary): string {
  const rows: [string, string][] = [
    ['devices', `${s.devices} (${s.workers} worker${s.workers === 1 ? '' : 's'}, sources ${s.sources.length > 0 ? s.sources.join(' ') : 'default'})`],
    ['elapsed', `${s.elapsedS} s`],
    ['connected', `${s.connected} (${s.connectRate} /s)`],
    ['online at end', String(s.online)],
    ['dropped', String(s.dropped)],
    ['notified / rehomed', `${s.notified} / ${s.rehomed}`],
    ['published', String(s.published)]
  ]
  for (const n of LATENCIES) {
    const l = s.latencyMs[n]
    rows.push([`${n} ms`, l.count === 0 ? '-' : `p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}  (n=${l.count})`])
  }
  const causes = Object.entries(s.failures).sort((a, b) => b[1] - a[1])
  rows.push(['failures', causes.length === 0 ? 'none' : causes.map(([k, v]) => `${k}: ${v}`).join(', ')])
  const width = Math.max(...rows.map(r => r[0].length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')
}
