// Signed CONNECT rate with registry lookups (Redis) vs bare Aedes (no auth) and Mosquitto
// (anonymous), and broker memory per idle connection (RSS delta / connections) vs bare Aedes. Two
// diagnostics show the floor of any broker that reads a shared Redis registry per CONNECT
// (bench/servers/floor-aedes.ts), so that what Homing adds over it can be told from what it cannot avoid.
// The same pre-signed CONNECT packets go to every broker; the baselines just do not check them.
// Every measurement gets loopback source addresses of its own (no TIME_WAIT carried over from the
// server before), `--runs N` rotates the order of the servers between runs and reports medians, and
// the generator's CPU is measured beside the server's: a rate ratio counts only when the generator
// had headroom (bench/report.ts, rateVerdict).
import { Redis } from 'ioredis'
import type { Certificate } from '../../shared/types.js'
import { Deployment, REDIS_URL, startServer, type Usage } from '../deployment.js'
import { LoadGenerator } from '../load/generator.js'
import type { FloodResult } from '../load/connect-flood.js'
import { connectFigures, latencyMs, type RunFigures } from '../figures.js'
import type { Figure } from '../report.js'
import { sleep, type ScenarioContext } from '../scenario.js'
import { mosquittoInstalled, procUsage, startMosquitto } from '../servers/mosquitto.js'

interface Run extends RunFigures {
  flood: FloodResult
}

interface Started {
  port: number
  usage: () => Promise<Usage>
  stop: () => Promise<void>
}

interface ServerUnderTest {
  name: string
  role: 'subject' | 'diagnostic' | 'baseline'
  start: () => Promise<Started>
}

/** Two loopback source addresses per measurement, never used by an earlier one (127.0.11.10 on). */
export class SourceAddresses {
  private next = 10
  take (): string[] {
    if (this.next > 250) throw new Error('bench: out of loopback source addresses')
    const taken = [`127.0.11.${this.next}`, `127.0.11.${this.next + 1}`]
    this.next += 2
    return taken
  }
}

/** `servers` rotated left by `run`, so each server goes first, second, ... in turn. */
export function rotated<T> (servers: T[], run: number): T[] {
  const k = servers.length === 0 ? 0 : run % servers.length
  return [...servers.slice(k), ...servers.slice(0, k)]
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
const medianOf = (xs: (number | null | undefined)[]): number | null => {
  const known = xs.filter((x): x is number => typeof x === 'number')
  return known.length === 0 ? null : median(known)
}

/** Commands the Redis has executed so far (INFO itself left out). */
async function redisCalls (redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let calls = 0
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') calls += Number(m[2])
  return calls
}

/** The command count once the server has answered the DISCONNECTs: until it moves by less than 1% of them in half a second (at most 20 s). */
async function redisSettled (redis: Redis, from: number, disconnects: number): Promise<number> {
  let last = from
  for (let waited = 0; waited < 20_000; waited += 500) {
    await sleep(500)
    const now = await redisCalls(redis)
    if (now - last < Math.max(1, disconnects / 100)) return now
    last = now
  }
  return last
}

/** Warm up, then open and hold every connection, measuring RSS, CPU and Redis commands before and after. */
async function measure (name: string, server: Started, certs: Certificate[], gen: LoadGenerator, redis: Redis, o: { inFlight: number, sources: string[], settleMs: number, log: (l: string) => void }): Promise<Run> {
  const { port } = server
  const warm = certs.slice(0, Math.min(1000, Math.ceil(certs.length / 4)))
  await gen.connect({ port, inFlight: o.inFlight, sources: o.sources }, warm)
  await gen.close()
  await sleep(o.settleMs)
  const before = await server.usage()
  const calls0 = await redisCalls(redis)
  const flood = await gen.connect({ port, inFlight: o.inFlight, sources: o.sources }, certs)
  await sleep(o.settleMs)
  const after = await server.usage()
  const calls1 = await redisCalls(redis)
  const dropped = await gen.close()
  const calls2 = await redisSettled(redis, calls1, flood.accepted)
  const n = flood.accepted
  const perConnection = n > 0 ? (after.rss - before.rss) / n : null
  const busyUs = after.cpuUs - before.cpuUs
  const cpuPerConnect = n > 0 ? busyUs / n : null
  const floodUs = flood.elapsedMs * 1000
  const serverCores = floodUs > 0 ? busyUs / floodUs : null
  const generatorCores = floodUs > 0 ? flood.generatorCpuUs / floodUs : null
  const redisPerConnect = n > 0 ? (calls1 - calls0) / n : null
  const redisPerDisconnect = n > 0 ? (calls2 - calls1) / n : null
  const share = (c: number | null): string => c === null ? '-' : `${Math.round(c * 100)}%`
  o.log(`  ${name} [${o.sources.join(', ')}]: ${flood.accepted}/${flood.attempted} accepted in ${(flood.elapsedMs / 1000).toFixed(2)} s = ${Math.round(flood.rate)}/s, p50 ${latencyMs(flood.latency, 50)} ms, p99 ${latencyMs(flood.latency, 99)} ms` +
    (perConnection !== null ? `, ${(perConnection / 1024).toFixed(1)} KiB/connection` : '') +
    (cpuPerConnect !== null ? `, ${Math.round(cpuPerConnect)} µs CPU/CONNECT` : '') +
    `, server ${share(serverCores)} / generator ${share(generatorCores)} of a core` +
    (redisPerConnect !== null ? `, Redis commands ${redisPerConnect.toFixed(1)}/CONNECT ${(redisPerDisconnect ?? 0).toFixed(1)}/DISCONNECT` : '') +
    (Object.keys(flood.refused).length > 0 ? `, refused ${JSON.stringify(flood.refused)}` : '') +
    (Object.keys(flood.failed).length > 0 ? `, failed ${JSON.stringify(flood.failed)}` : '') +
    (dropped > 0 ? `, ${dropped} dropped while held` : ''))
  return { name, flood, perConnection, cpuPerConnect, serverCores, generatorCores, redisPerConnect, redisPerDisconnect }
}

/** The medians of one server's runs; the generator's share is the highest seen (the conservative one). */
export function medianRun (runs: RunFigures[]): RunFigures {
  const first = runs[0]
  if (first === undefined) throw new Error('no runs')
  const generator = runs.map(r => r.generatorCores).filter((x): x is number => typeof x === 'number')
  return {
    name: first.name,
    flood: {
      rate: median(runs.map(r => r.flood.rate)),
      accepted: Math.min(...runs.map(r => r.flood.accepted)),
      attempted: Math.max(...runs.map(r => r.flood.attempted))
    },
    perConnection: medianOf(runs.map(r => r.perConnection)),
    cpuPerConnect: medianOf(runs.map(r => r.cpuPerConnect)),
    serverCores: medianOf(runs.map(r => r.serverCores)),
    generatorCores: generator.length === 0 ? null : Math.max(...generator),
    redisPerConnect: medianOf(runs.map(r => r.redisPerConnect)),
    redisPerDisconnect: medianOf(runs.map(r => r.redisPerDisconnect))
  }
}

export async function brokerConnect (ctx: ScenarioContext): Promise<Figure[]> {
  const n = ctx.quick ? 1500 : 10_000
  const inFlight = 100
  const settleMs = ctx.quick ? 700 : 2000
  const sources = new SourceAddresses()
  const dep = await new Deployment([{ id: 'bench-a' }]).open()
  const gen = await LoadGenerator.start()
  const redis = new Redis(REDIS_URL, { lazyConnect: true })
  const results = new Map<string, Run[]>()
  let servers: ServerUnderTest[] = []
  try {
    await redis.connect()
    await dep.createProduct('a1benchConn', 'bench-a')
    const certs = await dep.createDevices('a1benchConn', 'bench-a', n)
    const file = dep.writeConfig()
    const fromServer = (s: Awaited<ReturnType<typeof startServer>>): Started => ({ port: s.ports.mqtt as number, usage: s.measure, stop: s.stop })
    servers = [
      { name: 'Homing broker (signed, Redis registry)', role: 'subject', start: async () => fromServer(await dep.start('homing-broker.ts', ['--config', file, '--instance', 'bench-a'], ctx.profileArgs('broker-connect'))) },
      // Diagnostic: the same hooks on a plain Aedes (no cluster backends).
      { name: 'Homing plugin on plain Aedes (signed, Redis registry, in-memory emitter and persistence)', role: 'diagnostic', start: async () => fromServer(await dep.start('homing-plugin.ts', ['--config', file, '--instance', 'bench-a'], ctx.profileArgs('plugin-connect'))) },
      // Diagnostics: the floor of any broker that checks a shared Redis registry (bench/servers/floor-aedes.ts).
      { name: 'floor: plain Aedes answering a turn later (no I/O)', role: 'diagnostic', start: async () => fromServer(await startServer('floor-aedes.ts', ['--config', file, '--instance', 'bench-a', '--steps', 'defer'], ctx.profileArgs('floor-defer'))) },
      { name: 'floor: plain Aedes + one registry GET and signature check', role: 'diagnostic', start: async () => fromServer(await startServer('floor-aedes.ts', ['--config', file, '--instance', 'bench-a', '--steps', 'read'], ctx.profileArgs('floor-read'))) },
      { name: 'floor: the same + one online-mark SET', role: 'diagnostic', start: async () => fromServer(await startServer('floor-aedes.ts', ['--config', file, '--instance', 'bench-a', '--steps', 'read,mark'], ctx.profileArgs('floor-mark'))) },
      { name: 'bare Aedes (no auth)', role: 'baseline', start: async () => fromServer(await startServer('bare-aedes.ts')) }
    ]
    if (mosquittoInstalled()) {
      servers.push({
        name: 'Mosquitto (anonymous)',
        role: 'baseline',
        start: async () => {
          const m = await startMosquitto()
          return { port: m.port, usage: async () => procUsage(m.pid), stop: m.stop }
        }
      })
    } else {
      ctx.log('  mosquitto not installed: that baseline is left out')
    }
    ctx.log(`  ${n} connections held per broker, ${inFlight} CONNECTs in flight, one generator process, ${ctx.runs} run(s) in rotated order, Redis ${REDIS_URL.replace(/\/\/[^@]*@/, '//')} (commands counted for every client of it)`)
    for (let run = 0; run < ctx.runs; run++) {
      if (ctx.runs > 1) ctx.log(`  run ${run + 1}:`)
      for (const server of rotated(servers, run)) {
        const started = await server.start()
        try {
          const r = await measure(server.name, started, certs, gen, redis, { inFlight, sources: sources.take(), settleMs, log: ctx.log })
          results.set(server.name, [...results.get(server.name) ?? [], r])
        } finally {
          await started.stop()
        }
      }
    }
  } finally {
    redis.disconnect()
    await gen.stop()
    await dep.close()
  }
  const medians = (role: ServerUnderTest['role']): RunFigures[] => servers.flatMap(s => {
    const runs = results.get(s.name)
    return s.role === role && runs !== undefined ? [medianRun(runs)] : []
  })
  const [subject] = medians('subject')
  const diagnostics = medians('diagnostic')
  const baselines = medians('baseline')
  if (subject === undefined) return []
  if (ctx.runs > 1) {
    for (const r of [subject, ...diagnostics, ...baselines]) {
      ctx.log(`  median of ${ctx.runs}: ${r.name}: ${Math.round(r.flood.rate)}/s, ${Math.round(r.cpuPerConnect ?? 0)} µs CPU/CONNECT, generator up to ${Math.round((r.generatorCores ?? 0) * 100)}% of a core`)
    }
  }
  return connectFigures([subject, ...baselines], ctx.selected, diagnostics)
}
