// Signed CONNECT rate with registry lookups (Redis) vs bare Aedes (no auth) and Mosquitto
// (anonymous), and broker memory per idle connection (RSS delta / connections) vs bare Aedes.
// The same pre-signed CONNECT packets go to every broker; the baselines just do not check them.
import type { Certificate } from '../../shared/types.js'
import { Deployment, startServer, type RunningServer, type Usage } from '../deployment.js'
import { LoadGenerator } from '../load/generator.js'
import type { FloodResult } from '../load/connect-flood.js'
import { connectFigures, latencyMs } from '../figures.js'
import type { Figure } from '../report.js'
import { sleep, type ScenarioContext } from '../scenario.js'
import { mosquittoInstalled, procUsage, startMosquitto } from '../servers/mosquitto.js'

interface Run {
  name: string
  flood: FloodResult
  /** RSS after GC with the connections held, minus before, per connection (bytes); null when not measured. */
  perConnection: number | null
  /** Server CPU (user + system) spent opening the connections, per CONNECT (µs). */
  cpuPerConnect: number | null
}

/** Warm up, then open and hold every connection, measuring RSS before and after. */
async function measure (name: string, port: number, certs: Certificate[], gen: LoadGenerator, o: { inFlight: number, sources: string[], settleMs: number, usage?: () => Promise<Usage>, log: (l: string) => void }): Promise<Run> {
  const warm = certs.slice(0, Math.min(1000, Math.ceil(certs.length / 4)))
  await gen.connect({ port, inFlight: o.inFlight, sources: o.sources }, warm)
  await gen.close()
  await sleep(o.settleMs)
  const before = o.usage ? await o.usage() : null
  const flood = await gen.connect({ port, inFlight: o.inFlight, sources: o.sources }, certs)
  await sleep(o.settleMs)
  const after = o.usage ? await o.usage() : null
  const dropped = await gen.close()
  await sleep(o.settleMs / 2)
  const perConnection = before !== null && after !== null && flood.accepted > 0 ? (after.rss - before.rss) / flood.accepted : null
  const cpuPerConnect = before !== null && after !== null && flood.accepted > 0 ? (after.cpuUs - before.cpuUs) / flood.accepted : null
  o.log(`  ${name}: ${flood.accepted}/${flood.attempted} accepted in ${(flood.elapsedMs / 1000).toFixed(2)} s = ${Math.round(flood.rate)}/s, p50 ${latencyMs(flood.latency, 50)} ms, p99 ${latencyMs(flood.latency, 99)} ms` +
    (perConnection !== null ? `, ${(perConnection / 1024).toFixed(1)} KiB/connection` : '') +
    (cpuPerConnect !== null ? `, ${Math.round(cpuPerConnect)} µs CPU/CONNECT` : '') +
    (Object.keys(flood.refused).length > 0 ? `, refused ${JSON.stringify(flood.refused)}` : '') +
    (Object.keys(flood.failed).length > 0 ? `, failed ${JSON.stringify(flood.failed)}` : '') +
    (dropped > 0 ? `, ${dropped} dropped while held` : ''))
  return { name, flood, perConnection, cpuPerConnect }
}

export async function brokerConnect (ctx: ScenarioContext): Promise<Figure[]> {
  const n = ctx.quick ? 1500 : 10_000
  const inFlight = 100
  const settleMs = ctx.quick ? 700 : 2000
  const sources = ['127.0.0.2', '127.0.0.3']
  const dep = await new Deployment([{ id: 'bench-a' }]).open()
  const gen = await LoadGenerator.start()
  const runs: Run[] = []
  const diagnostics: Run[] = []
  const servers: RunningServer[] = []
  try {
    await dep.createProduct('a1benchConn', 'bench-a')
    const certs = await dep.createDevices('a1benchConn', 'bench-a', n)
    const file = dep.writeConfig()
    ctx.log(`  ${n} connections held per broker, ${inFlight} CONNECTs in flight, one generator process`)

    const homing = await dep.start('homing-broker.ts', ['--config', file, '--instance', 'bench-a'], ctx.profileArgs('broker-connect'))
    runs.push(await measure('Homing broker (signed, Redis registry)', homing.ports.mqtt as number, certs, gen, { inFlight, sources, settleMs, usage: homing.measure, log: ctx.log }))
    await homing.stop()

    // Diagnostic line: the same hooks on a plain Aedes (no cluster backends).
    const plugin = await dep.start('homing-plugin.ts', ['--config', file, '--instance', 'bench-a'], ctx.profileArgs('plugin-connect'))
    diagnostics.push(await measure('Homing plugin on plain Aedes (signed, Redis registry, in-memory emitter and persistence)', plugin.ports.mqtt as number, certs, gen, { inFlight, sources, settleMs, usage: plugin.measure, log: ctx.log }))
    await plugin.stop()

    const aedes = await startServer('bare-aedes.ts')
    servers.push(aedes)
    runs.push(await measure('bare Aedes (no auth)', aedes.ports.mqtt as number, certs, gen, { inFlight, sources, settleMs, usage: aedes.measure, log: ctx.log }))
    await aedes.stop()

    if (mosquittoInstalled()) {
      const mosquitto = await startMosquitto()
      try {
        runs.push(await measure('Mosquitto (anonymous)', mosquitto.port, certs, gen, { inFlight, sources, settleMs, usage: async () => procUsage(mosquitto.pid), log: ctx.log }))
      } finally {
        await mosquitto.stop()
      }
    } else {
      ctx.log('  mosquitto not installed: that baseline is left out')
    }
  } finally {
    await gen.stop()
    await Promise.all(servers.map(s => s.stop()))
    await dep.close()
  }
  return connectFigures(runs, ctx.selected, diagnostics)
}
