// The registry scenario's figures (bench/scenarios/registry.ts) and the goals of issue 10: pure
// functions of what was measured, the Redis Cluster run beside the one-Redis run.
import type { FloodResult } from './load/connect-flood.js'
import type { HttpFloodResult } from './load/http-flood.js'
import type { ImportRun } from './registry-import.js'
import { percentile, type PageSample } from './registry-pages.js'
import { perOperation, totalCalls, type RedisDelta } from './redis-stats.js'
import type { Figure } from './report.js'

/** What happened in Redis and in the servers under test around one piece of work. */
export interface Measured<T> {
  value: T
  redis: RedisDelta
  /** CPU (user + system) of each server measured, µs. */
  cpuUs: number[]
  /** One-minute load average when the work started. */
  load: number
}

export interface PagesRun extends Measured<PageSample> {
  /** Devices at the instance. */
  total: number
}

export interface TargetRun {
  label: string
  imports: Measured<ImportRun>[]
  /** The small listing, then the large one. */
  pages: PagesRun[]
  bootstrap: Measured<Pick<HttpFloodResult, 'requests' | 'statuses'>>
  connect: Measured<Pick<FloodResult, 'accepted' | 'attempted'>> & { brokerParts: RedisDelta }
  jobMs: number[]
  jobDevices: number
}

const us = (x: number): string => x >= 100 ? String(Math.round(x)) : x.toFixed(1)
const count = (n: number): string => n.toLocaleString('en-US')
const median = (xs: number[]): number => percentile(xs, 50)

function importTotals (r: TargetRun): { devices: number, ms: number, memory: number, sidecarUs: number, redisUs: number, load: number } {
  return {
    devices: r.imports.reduce((s, m) => s + m.value.devices, 0),
    ms: r.imports.reduce((s, m) => s + m.value.ms, 0),
    memory: r.imports.reduce((s, m) => s + m.redis.memory, 0),
    sidecarUs: r.imports.reduce((s, m) => s + (m.cpuUs[0] ?? 0), 0),
    redisUs: r.imports.reduce((s, m) => s + m.redis.cpuUs, 0),
    load: Math.max(...r.imports.map(m => m.load))
  }
}

function pagesDetail (r: TargetRun, p: PagesRun): string {
  const pages = p.value.ms.length
  const failed = pages - (p.value.statuses['200'] ?? 0)
  return `${r.label}: p50 ${median(p.value.ms).toFixed(1)} ms, p99 ${percentile(p.value.ms, 99).toFixed(1)} ms over ${pages} pages by ${p.value.mode}` +
    `${failed > 0 ? ` (${failed} FAILED, statuses ${JSON.stringify(p.value.statuses)}: their time is until the error)` : ''}, ` +
    `sidecar ${us((p.cpuUs[0] ?? 0) / pages)} µs CPU/page, Redis ${us(p.redis.cpuUs / pages)} µs CPU/page, load ${p.load.toFixed(1)}`
}

function commandsFigure (scenario: string, cluster: TargetRun, single: TargetRun, of: (r: TargetRun) => { calls: Record<string, number>, operations: number, extra?: string }): Figure {
  const c = of(cluster)
  const s = of(single)
  return {
    scenario,
    subject: cluster.label,
    value: totalCalls(c.calls) / Math.max(c.operations, 1),
    unit: 'commands',
    baselines: [{ name: single.label, value: totalCalls(s.calls) / Math.max(s.operations, 1) }],
    detail: `${cluster.label} (${count(c.operations)} operations): ${perOperation(c.calls, c.operations)}${c.extra ?? ''}\n    ` +
      `${single.label} (${count(s.operations)} operations): ${perOperation(s.calls, s.operations)}${s.extra ?? ''}`
  }
}

export function registryFigures (cluster: TargetRun, single: TargetRun): Figure[] {
  const ci = importTotals(cluster)
  const si = importTotals(single)
  const [cSmall, cLarge] = cluster.pages as [PagesRun, PagesRun]
  const [sSmall, sLarge] = single.pages as [PagesRun, PagesRun]
  // A page that failed (the scan's reads timing out) misses the goal whatever its time.
  const allOk = [cSmall, cLarge].every(p => (p.value.statuses['200'] ?? 0) === p.value.ms.length)
  const ratio = allOk ? median(cLarge.value.ms) / median(cSmall.value.ms) : Infinity
  const ratio99 = allOk ? percentile(cLarge.value.ms, 99) / percentile(cSmall.value.ms, 99) : Infinity
  const importDetail = (r: TargetRun, t: ReturnType<typeof importTotals>): string =>
    `${r.label}: ${count(t.devices)} devices in ${(t.ms / 1000).toFixed(1)} s, sidecar ${us(t.sidecarUs / t.devices)} µs CPU/device, Redis ${us(t.redisUs / t.devices)} µs CPU/device, load up to ${t.load.toFixed(1)}`
  const jobGoal = 2000
  return [
    {
      scenario: `registry: homing devices import of ${count(ci.devices)} devices`,
      subject: cluster.label,
      value: ci.devices / (ci.ms / 1000),
      unit: 'devices/s',
      baselines: [{ name: single.label, value: si.devices / (si.ms / 1000) }],
      detail: `${importDetail(cluster, ci)}\n    ${importDetail(single, si)}`
    },
    {
      scenario: 'registry: Redis memory per device (used_memory delta over the masters / devices)',
      subject: cluster.label,
      value: ci.memory / ci.devices,
      unit: 'bytes',
      baselines: [{ name: single.label, value: si.memory / si.devices }]
    },
    {
      scenario: `registry: page of 100 devices by instance at ${count(cSmall.total)} devices, p50`,
      subject: cluster.label,
      value: median(cSmall.value.ms),
      unit: 'ms',
      baselines: [{ name: single.label, value: median(sSmall.value.ms) }],
      detail: `${pagesDetail(cluster, cSmall)}\n    ${pagesDetail(single, sSmall)}`
    },
    {
      scenario: `registry: page of 100 devices by instance at ${count(cLarge.total)} devices, p50`,
      subject: cluster.label,
      value: median(cLarge.value.ms),
      unit: 'ms',
      baselines: [{ name: `${cluster.label} at ${count(cSmall.total)}`, value: median(cSmall.value.ms) }, { name: single.label, value: median(sLarge.value.ms) }],
      goal: { text: `<= 1.5x the page at ${count(cSmall.total)}`, met: ratio <= 1.5 },
      detail: `${pagesDetail(cluster, cLarge)}\n    ${pagesDetail(single, sLarge)}`
    },
    {
      scenario: `registry: page of 100 devices by instance at ${count(cLarge.total)} devices, p99`,
      subject: cluster.label,
      value: percentile(cLarge.value.ms, 99),
      unit: 'ms',
      baselines: [{ name: `${cluster.label} at ${count(cSmall.total)}`, value: percentile(cSmall.value.ms, 99) }, { name: single.label, value: percentile(sLarge.value.ms, 99) }],
      goal: { text: `<= 1.5x the page at ${count(cSmall.total)}`, met: ratio99 <= 1.5 }
    },
    commandsFigure('registry: Redis commands per bootstrap request', cluster, single, r => ({
      calls: r.bootstrap.redis.calls,
      operations: r.bootstrap.value.requests,
      extra: `; sidecar ${us((r.bootstrap.cpuUs[0] ?? 0) / Math.max(r.bootstrap.value.requests, 1))} µs CPU/request, Redis ${us(r.bootstrap.redis.cpuUs / Math.max(r.bootstrap.value.requests, 1))} µs CPU/request; statuses ${JSON.stringify(r.bootstrap.value.statuses)}`
    })),
    commandsFigure('registry: Redis commands per signed CONNECT (registry; the broker\'s own parts apart)', cluster, single, r => ({
      calls: r.connect.redis.calls,
      operations: r.connect.value.accepted,
      extra: `; broker parts' Redis: ${perOperation(r.connect.brokerParts.calls, r.connect.value.accepted)}; broker ${us((r.connect.cpuUs[0] ?? 0) / Math.max(r.connect.value.accepted, 1))} µs CPU/CONNECT; ${r.connect.value.accepted}/${r.connect.value.attempted} accepted`
    })),
    commandsFigure(`registry: Redis commands per page of 100 at ${count(cLarge.total)} devices`, cluster, single, r => ({
      calls: (r.pages[1] as PagesRun).redis.calls,
      operations: (r.pages[1] as PagesRun).value.ms.length,
      extra: ` (by ${(r.pages[1] as PagesRun).value.mode})`
    })),
    {
      scenario: `registry: distribution job of ${count(cluster.jobDevices)} offline devices, POST -> distributed, median`,
      subject: cluster.label,
      value: median(cluster.jobMs),
      unit: 'ms',
      baselines: [{ name: single.label, value: median(single.jobMs) }],
      goal: { text: `<= ${jobGoal} ms`, met: median(cluster.jobMs) <= jobGoal },
      detail: `runs: ${cluster.label} ${cluster.jobMs.map(Math.round).join(', ')} ms; ${single.label} ${single.jobMs.map(Math.round).join(', ')} ms`
    }
  ]
}
