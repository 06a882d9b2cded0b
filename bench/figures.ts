// The figures each scenario reports, and the goals of issue 6: pure functions of what was measured.
import * as hdr from 'hdr-histogram-js'
import type { FloodResult } from './load/connect-flood.js'
import type { HttpFloodResult, HttpMode } from './load/http-flood.js'
import type { Summary } from './loadtest/stats.js'
import { pct, rateVerdict, ratio, type Figure, type RateSide } from './report.js'

const cores = (c: number | null | undefined): string => typeof c === 'number' ? `${Math.round(c * 100)}% of a core` : '-'
const count = (n: number | null | undefined): string => typeof n === 'number' ? n.toFixed(1) : '-'

export function latencyMs (encoded: string, percentile: number): number {
  if (encoded === '') return 0
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false)
  return h.totalCount === 0 ? 0 : Math.round(h.getValueAtPercentile(percentile) / 10) / 100
}

export const HOMING = 'Homing sidecar (Redis registry)'
/** The baselines answer the sidecar's bytes, `Connection: close` included, and close after the answer as it does. */
export const NODE_HTTP = 'bare node:http'
export const KOA = 'bare Koa'
export const FLOOR_HTTP = 'floor: node:http + one registry GET'
/** The same servers without `Connection: close`: what a keep-alive client gets from them. */
export const NODE_HTTP_KA = 'bare node:http, keep-alive'
export const KOA_KA = 'bare Koa, keep-alive'

export interface HttpRun {
  server: string
  mode: HttpMode
  result: Pick<HttpFloodResult, 'rate' | 'requests' | 'statuses' | 'errors' | 'latency' | 'serverClosed'>
  /** Server CPU (user + system) per request, µs. */
  cpuPerRequest?: number | null
}

export interface RehomeOutcome {
  devices: number
  /** Job POST -> the last device's CONNACK 0 at the destination, ms (null: not all arrived). */
  allConnectedMs: number | null
  rehomed: number
  /** Job POST -> job status distributed, ms. */
  jobMs: number | null
  summary: Summary
  /** Broker processes of the destination instance. */
  dstNodes?: number
  /** How the generator simulated the devices. */
  mode?: string
  /** The job's rate option (notifies per second), when it had one. */
  rate?: number
  /** Each destination node's CPU cap (share of a core), when it had one. */
  dstCpu?: number
  /** CPU (µs) each part used from job start until the last device arrived (sidecar, source, destination, generator, redis). */
  cpuUs?: Record<string, number>
  /** Length of that window (job start -> last arrival), ms. */
  windowMs?: number
  /** Job POST -> the first and the last move event in the source's stream, ms. */
  publishedMs?: { first: number | null, last: number | null }
  /** Job POST -> the first and the last notify a device received, ms. */
  notifyMs?: { first: number | null, last: number | null }
  /** Per load-test worker, the share of that window its event loop was busy (null: no reading). */
  generatorBusy?: Array<number | null>
}

/** A generator whose event loop was busier than this was (or may have been) what the run waited for. */
export const GENERATOR_BUSY_LIMIT = 0.8

/**
 * Whether the load generator had headroom over the window: its workers' event loops busy less than
 * GENERATOR_BUSY_LIMIT of it. A busy loop on a worker that got less than that share of a core was
 * waiting for the machine's CPU (other processes had it), not short of its own capacity.
 */
export function generatorHeadroom (busy: Array<number | null>, coresPerWorker?: number): string {
  const known = busy.filter((b): b is number => b !== null)
  const n = busy.length
  const cores = coresPerWorker !== undefined ? `, ${coresPerWorker.toFixed(2)} core${n === 1 ? '' : ' each'}` : ''
  const head = `generator ${n} worker${n === 1 ? '' : 's'}${cores}`
  if (known.length === 0) return `${head}, event loop not measured`
  const most = Math.max(...known)
  const verdict = most < GENERATOR_BUSY_LIMIT
    ? 'headroom'
    : coresPerWorker !== undefined && coresPerWorker < GENERATOR_BUSY_LIMIT
      ? 'no headroom, starved of CPU by the other parts'
      : 'NO headroom: the generator may have been the limit'
  return `${head}, event loop busy ${known.map(b => `${Math.round(b * 100)}%`).join(' / ')}: ${verdict}`
}

/** The generator's CPU over the window, in cores per worker (undefined without both figures). */
function coresPerWorker (o: RehomeOutcome): number | undefined {
  const us = o.cpuUs?.generator
  if (us === undefined || o.windowMs === undefined || o.windowMs <= 0 || o.generatorBusy === undefined || o.generatorBusy.length === 0) return undefined
  return us / (o.windowMs * 1000) / o.generatorBusy.length
}

export interface LiveOutcome {
  target: number
  nodes: number
  holdS: number
  /** Connected when the hold began. */
  connectedAtHold: number
  summary: Summary
}

export type RunFigures = {
  name: string
  flood: Pick<FloodResult, 'rate' | 'accepted' | 'attempted'>
  perConnection: number | null
  cpuPerConnect?: number | null
  /** Server and generator CPU over the flood, in cores (a fraction of one). */
  serverCores?: number | null
  generatorCores?: number | null
  /** Redis commands per CONNECT and per DISCONNECT (every client of that Redis: a private one says the server's). */
  redisPerConnect?: number | null
  redisPerDisconnect?: number | null
}

const side = (r: RunFigures): RateSide => ({ rate: r.flood.rate, cpuPerOp: r.cpuPerConnect ?? null, serverCores: r.serverCores ?? null, generatorCores: r.generatorCores ?? null })

/** Issue 11: a full node's CPU per signed CONNECT at most this many times bare Aedes's. */
export const CONNECT_CPU_GOAL = 1.2

/** Pure: the figures of the runs, in the order homing, bare Aedes, Mosquitto; diagnostics get no goal. */
export function connectFigures (runs: RunFigures[], selected: Set<string>, diagnostics: RunFigures[] = []): Figure[] {
  const [homing, aedes, ...others] = runs
  if (homing === undefined || aedes === undefined) return []
  const figures: Figure[] = []
  if (selected.has('connect')) {
    const verdict = rateVerdict(side(homing), side(aedes), 0.9)
    const by = verdict.basis === 'cpu' ? ` (by CPU per CONNECT: ${pct(verdict.ratio)})` : ''
    figures.push({
      scenario: 'signed CONNECT rate',
      subject: homing.name,
      value: homing.flood.rate,
      unit: 'CONNECT/s',
      baselines: [aedes, ...others].map(b => ({ name: b.name, value: b.flood.rate })),
      goal: { text: `>= 90% of bare Aedes${by}`, met: verdict.met && homing.flood.accepted === homing.flood.attempted },
      detail: `accepted ${homing.flood.accepted}/${homing.flood.attempted}; ${verdict.why}; ` +
        [homing, ...diagnostics, aedes, ...others].map(r => `${r.name}: server ${cores(r.serverCores)}, generator ${cores(r.generatorCores)}`).join('; ')
    })
  }
  if (selected.has('connect')) {
    for (const d of diagnostics) {
      figures.push({ scenario: 'signed CONNECT rate (diagnostic)', subject: d.name, value: d.flood.rate, unit: 'CONNECT/s', baselines: [{ name: aedes.name, value: aedes.flood.rate }], detail: `accepted ${d.flood.accepted}/${d.flood.attempted}` })
    }
  }
  // CPU per CONNECT is what a busy shared machine distorts least: the rate a dedicated core would reach goes as its inverse.
  if (selected.has('connect') && typeof homing.cpuPerConnect === 'number') {
    const r = ratio(homing.cpuPerConnect, aedes.cpuPerConnect ?? undefined)
    figures.push({
      scenario: 'server CPU time per CONNECT',
      subject: homing.name,
      value: homing.cpuPerConnect,
      unit: 'µs',
      baselines: [...diagnostics, aedes, ...others].flatMap(b => typeof b.cpuPerConnect === 'number' ? [{ name: b.name, value: b.cpuPerConnect }] : []),
      goal: { text: `<= ${CONNECT_CPU_GOAL}x bare Aedes`, met: r !== null && r <= CONNECT_CPU_GOAL },
      detail: 'Redis commands per CONNECT / DISCONNECT: ' + [homing, ...diagnostics, aedes].map(b => `${b.name} ${count(b.redisPerConnect)} / ${count(b.redisPerDisconnect)}`).join('; ')
    })
  }
  if (selected.has('memory') && homing.perConnection !== null && aedes.perConnection !== null) {
    const kib = homing.perConnection / 1024
    figures.push({
      scenario: 'broker memory per idle connection',
      subject: homing.name,
      value: kib,
      unit: 'KiB',
      baselines: [{ name: aedes.name, value: aedes.perConnection / 1024 }],
      goal: { text: '<= 20 KiB', met: kib <= 20 }
    })
  }
  return figures
}

/** Pure: one figure per mode, Homing beside node:http and Koa; the goal applies to new connections. */
export function bootstrapFigures (runs: HttpRun[]): Figure[] {
  const figures: Figure[] = []
  for (const mode of ['new-connection', 'keep-alive'] as const) {
    const find = (server: string): HttpRun | undefined => runs.find(r => r.mode === mode && r.server === server)
    const homing = find(HOMING)
    const http = find(NODE_HTTP)
    const koa = find(KOA)
    if (homing === undefined) continue
    const baselines = runs.filter(r => r.mode === mode && r.server !== HOMING)
    const ok = (homing.result.statuses['200'] ?? 0) === homing.result.requests && Object.keys(homing.result.errors).length === 0
    const rHttp = ratio(homing.result.rate, http?.result.rate)
    const rKoa = ratio(homing.result.rate, koa?.result.rate)
    figures.push({
      scenario: `bootstrap requests/s, ${mode === 'new-connection' ? 'a new TCP connection per request' : 'keep-alive'}`,
      subject: HOMING,
      value: homing.result.rate,
      unit: 'req/s',
      baselines: baselines.map(b => ({ name: b.server, value: b.result.rate })),
      ...(mode === 'new-connection'
        ? { goal: { text: '>= 50% of node:http and >= 85% of Koa', met: ok && rHttp !== null && rHttp >= 0.5 && rKoa !== null && rKoa >= 0.85 } }
        : {}),
      detail: [homing, ...baselines].map(r => `${r.server} p50 ${latencyMs(r.result.latency, 50)} ms p99 ${latencyMs(r.result.latency, 99)} ms`).join('; ') +
        (ok ? '' : `; Homing answers: ${JSON.stringify(homing.result.statuses)} errors ${JSON.stringify(homing.result.errors)}`) +
        (mode === 'keep-alive' && homing.result.serverClosed > 0 ? '; the sidecar closes the connection after each answer, so keep-alive is a new connection per request there' : '')
    })
    if (typeof homing.cpuPerRequest === 'number') {
      figures.push({
        scenario: `server CPU time per bootstrap request, ${mode} (diagnostic)`,
        subject: HOMING,
        value: homing.cpuPerRequest,
        unit: 'µs',
        baselines: baselines.flatMap(b => typeof b.cpuPerRequest === 'number' ? [{ name: b.server, value: b.cpuPerRequest }] : [])
      })
    }
  }
  return figures
}

/** Pure: the re-homing figure (goal: <= 15 s for 10,000 devices, 0 lost). */
export function rehomeFigures (o: RehomeOutcome): Figure[] {
  const seconds = o.allConnectedMs === null ? Number.POSITIVE_INFINITY : o.allConnectedMs / 1000
  const lost = o.devices - o.rehomed
  const r = o.summary.latencyMs.rehome
  return [{
    scenario: `re-homing ${o.devices.toLocaleString('en-US')} online devices, one job${o.dstNodes !== undefined ? `, ${o.dstNodes}-node destination` : ''}${o.dstCpu !== undefined ? ` capped at ${o.dstCpu} core per node` : ''}${o.mode !== undefined ? `, ${o.mode} devices` : ''}${o.rate !== undefined ? `, rate ${o.rate}/s` : ''}`,
    subject: 'job start -> all connected at the destination',
    value: seconds,
    unit: 's',
    baselines: [],
    // The goal is for 10,000 devices; a quick run's smaller job is shown without a verdict.
    ...(o.devices >= 10_000 ? { goal: { text: '<= 15 s, 0 lost (10,000 devices)', met: seconds <= 15 && lost === 0 } } : {}),
    detail: `lost ${lost}; job distributed after ${o.jobMs === null ? '-' : (o.jobMs / 1000).toFixed(2)} s; notify -> reconnected p50 ${r.p50} ms p99 ${r.p99} ms max ${r.max} ms; ` +
      (o.publishedMs !== undefined ? `move events published from ${seconds2(o.publishedMs.first)} to ${seconds2(o.publishedMs.last)} s; ` : '') +
      (o.notifyMs !== undefined ? `notifies from ${seconds2(o.notifyMs.first)} to ${seconds2(o.notifyMs.last)} s; ` : '') +
      `failed attempts ${JSON.stringify(o.summary.failures)}; dropped ${o.summary.dropped}` +
      (o.cpuUs !== undefined ? `; CPU per moved device ${cpuPerDevice(o.cpuUs, o.devices)}` : '') +
      (o.generatorBusy !== undefined ? `; ${generatorHeadroom(o.generatorBusy, coresPerWorker(o))}` : '')
  }]
}

const seconds2 = (ms: number | null): string => ms === null ? '-' : (ms / 1000).toFixed(2)

/** `sidecar 120 µs, source 300 µs, ...`: each part's CPU over the devices moved. */
export function cpuPerDevice (cpuUs: Record<string, number>, devices: number): string {
  return Object.entries(cpuUs).map(([part, us]) => `${part} ${Math.round(us / devices)} µs`).join(', ')
}

/** Pure: held at the end of the hold, and dropped during the run. */
export function liveFigures (o: LiveOutcome): Figure[] {
  const s = o.summary
  return [{
    scenario: `live signed connections, ${o.nodes} broker processes of one instance`,
    subject: `held after ${o.holdS} s`,
    value: s.online,
    unit: 'connections',
    baselines: [],
    // The goal is for the full size; a quick run is shown without a verdict.
    ...(o.target >= 50_000 && o.holdS >= 60 ? { goal: { text: '50,000 held for 60 s, 0 dropped', met: s.online >= 50_000 && s.dropped === 0 } } : {}),
    detail: `target ${o.target}; connected ${s.connected} at ${s.connectRate}/s (bootstrap + signed CONNECT); dropped ${s.dropped}; ` +
      `bootstrap p50 ${s.latencyMs.bootstrap.p50} ms p99 ${s.latencyMs.bootstrap.p99} ms; CONNECT p50 ${s.latencyMs.connect.p50} ms p99 ${s.latencyMs.connect.p99} ms; ` +
      `failed attempts ${JSON.stringify(s.failures)}`
  }]
}
