// Signed CONNECT rate with registry lookups (Redis) vs bare Aedes (no auth) and Mosquitto
// (anonymous), and broker memory per idle connection (RSS delta / connections) vs bare Aedes.
// The same pre-signed CONNECT packets go to every broker; the baselines just do not check them.
import * as hdr from 'hdr-histogram-js'
import type { Certificate } from '../../shared/types.js'
import { Deployment, startServer, type RunningServer } from '../deployment.js'
import { LoadGenerator } from '../load/generator.js'
import type { FloodResult } from '../load/connect-flood.js'
import { ratio, type Figure } from '../report.js'
import { sleep, type ScenarioContext } from '../scenario.js'
import { mosquittoInstalled, startMosquitto } from '../servers/mosquitto.js'

interface Run {
  name: string
  flood: FloodResult
  /** RSS after GC with the connections held, minus before, per connection (bytes); null when not measured. */
  perConnection: number | null
}

const p = (encoded: string, q: number): number => {
  if (encoded === '') return 0
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false)
  return h.totalCount === 0 ? 0 : Math.round(h.getValueAtPercentile(q) / 10) / 100
}

/** Warm up, then open and hold every connection, measuring RSS before and after. */
async function measure (name: string, port: number, certs: Certificate[], gen: LoadGenerator, o: { inFlight: number, sources: string[], settleMs: number, rss?: () => Promise<number>, log: (l: string) => void }): Promise<Run> {
  const warm = certs.slice(0, Math.min(1000, Math.ceil(certs.length / 4)))
  await gen.connect({ port, inFlight: o.inFlight, sources: o.sources }, warm)
  await gen.close()
  await sleep(o.settleMs)
  const before = o.rss ? await o.rss() : 0
  const flood = await gen.connect({ port, inFlight: o.inFlight, sources: o.sources }, certs)
  await sleep(o.settleMs)
  const after = o.rss ? await o.rss() : 0
  const dropped = await gen.close()
  await sleep(o.settleMs / 2)
  const perConnection = o.rss && flood.accepted > 0 ? (after - before) / flood.accepted : null
  o.log(`  ${name}: ${flood.accepted}/${flood.attempted} accepted in ${(flood.elapsedMs / 1000).toFixed(2)} s = ${Math.round(flood.rate)}/s, p50 ${p(flood.latency, 50)} ms, p99 ${p(flood.latency, 99)} ms` +
    (perConnection !== null ? `, ${(perConnection / 1024).toFixed(1)} KiB/connection` : '') +
    (Object.keys(flood.refused).length > 0 ? `, refused ${JSON.stringify(flood.refused)}` : '') +
    (Object.keys(flood.failed).length > 0 ? `, failed ${JSON.stringify(flood.failed)}` : '') +
    (dropped > 0 ? `, ${dropped} dropped while held` : ''))
  return { name, flood, perConnection }
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
    runs.push(await measure('Homing broker (signed, Redis registry)', homing.ports.mqtt as number, certs, gen, { inFlight, sources, settleMs, rss: homing.measure, log: ctx.log }))
    await homing.stop()

    // Diagnostic line: the same hooks on a plain Aedes (no cluster backends).
    const plugin = await dep.start('homing-plugin.ts', ['--config', file, '--instance', 'bench-a'], ctx.profileArgs('plugin-connect'))
    diagnostics.push(await measure('Homing plugin on plain Aedes (signed, Redis registry, in-memory emitter and persistence)', plugin.ports.mqtt as number, certs, gen, { inFlight, sources, settleMs, rss: plugin.measure, log: ctx.log }))
    await plugin.stop()

    const aedes = await startServer('bare-aedes.ts')
    servers.push(aedes)
    runs.push(await measure('bare Aedes (no auth)', aedes.ports.mqtt as number, certs, gen, { inFlight, sources, settleMs, rss: aedes.measure, log: ctx.log }))
    await aedes.stop()

    if (mosquittoInstalled()) {
      const mosquitto = await startMosquitto()
      try {
        runs.push(await measure('Mosquitto (anonymous)', mosquitto.port, certs, gen, { inFlight, sources, settleMs, log: ctx.log }))
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

type RunFigures = { name: string, flood: Pick<FloodResult, 'rate' | 'accepted' | 'attempted'>, perConnection: number | null }

/** Pure: the figures of the runs, in the order homing, bare Aedes, Mosquitto; diagnostics get no goal. */
export function connectFigures (runs: RunFigures[], selected: Set<string>, diagnostics: RunFigures[] = []): Figure[] {
  const [homing, aedes, ...others] = runs
  if (homing === undefined || aedes === undefined) return []
  const figures: Figure[] = []
  if (selected.has('connect')) {
    const r = ratio(homing.flood.rate, aedes.flood.rate)
    figures.push({
      scenario: 'signed CONNECT rate',
      subject: homing.name,
      value: homing.flood.rate,
      unit: 'CONNECT/s',
      baselines: [aedes, ...others].map(b => ({ name: b.name, value: b.flood.rate })),
      goal: { text: '>= 90% of bare Aedes', met: r !== null && r >= 0.9 && homing.flood.accepted === homing.flood.attempted },
      detail: `accepted ${homing.flood.accepted}/${homing.flood.attempted}`
    })
  }
  if (selected.has('connect')) {
    for (const d of diagnostics) {
      figures.push({ scenario: 'signed CONNECT rate (diagnostic)', subject: d.name, value: d.flood.rate, unit: 'CONNECT/s', baselines: [{ name: aedes.name, value: aedes.flood.rate }], detail: `accepted ${d.flood.accepted}/${d.flood.attempted}` })
    }
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
