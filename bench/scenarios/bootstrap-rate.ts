// Bootstrap requests/s and p50/p99, single process, Homing's sidecar (Redis registry) vs bare
// node:http and a bare Koa app answering the same bytes; a new TCP connection per request (as
// devices do) and keep-alive.
import * as hdr from 'hdr-histogram-js'
import { Deployment, startServer, type RunningServer } from '../deployment.js'
import { LoadGenerator } from '../load/generator.js'
import type { HttpFloodResult, HttpMode } from '../load/http-flood.js'
import { ratio, type Figure } from '../report.js'
import type { ScenarioContext } from '../scenario.js'

export interface HttpRun {
  server: string
  mode: HttpMode
  result: Pick<HttpFloodResult, 'rate' | 'requests' | 'statuses' | 'errors' | 'latency' | 'serverClosed'>
}

export const HOMING = 'Homing sidecar (Redis registry)'
export const NODE_HTTP = 'bare node:http'
export const KOA = 'bare Koa'

export function latencyMs (encoded: string, percentile: number): number {
  if (encoded === '') return 0
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false)
  return h.totalCount === 0 ? 0 : Math.round(h.getValueAtPercentile(percentile) / 10) / 100
}

export async function bootstrapRate (ctx: ScenarioContext): Promise<Figure[]> {
  const devices = ctx.quick ? 1000 : 10_000
  const durationMs = ctx.quick ? 1500 : 15_000
  const warmupMs = ctx.quick ? 500 : 2000
  const concurrency = 50
  const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']
  const dep = await new Deployment([{ id: 'bench-a', endpointPort: 18830 }]).open()
  const gen = await LoadGenerator.start()
  const servers: { name: string, server: RunningServer }[] = []
  const runs: HttpRun[] = []
  try {
    await dep.createProduct('a1benchBoot', 'bench-a')
    const certs = await dep.createDevices('a1benchBoot', 'bench-a', devices)
    const queries = certs.map(c => ({ productKey: c.productKey, deviceName: c.deviceName, clientId: `${c.productKey}.${c.deviceName}` }))
    const file = dep.writeConfig()
    const [homing, http, koa] = await Promise.all([dep.start('homing-bootstrap.ts', ['--config', file], ctx.profileArgs('bootstrap')), startServer('bare-http.ts'), startServer('bare-koa.ts')])
    servers.push({ name: HOMING, server: homing }, { name: NODE_HTTP, server: http }, { name: KOA, server: koa })
    ctx.log(`  ${devices} devices, ${concurrency} concurrent request loops, ${durationMs / 1000} s per server and mode, one generator process`)
    for (const mode of ['new-connection', 'keep-alive'] as const) {
      for (const { name, server } of servers) {
        const port = server.ports.http as number
        await gen.http({ port, mode, concurrency, durationMs: warmupMs, queries, sources }) // warm-up
        const result = await gen.http({ port, mode, concurrency, durationMs, queries, sources })
        runs.push({ server: name, mode, result })
        ctx.log(`  ${mode.padEnd(14)} ${name}: ${Math.round(result.rate)} req/s, p50 ${latencyMs(result.latency, 50)} ms, p99 ${latencyMs(result.latency, 99)} ms, statuses ${JSON.stringify(result.statuses)}` +
          (Object.keys(result.errors).length > 0 ? `, errors ${JSON.stringify(result.errors)}` : '') +
          (result.serverClosed > 0 ? `, ${result.serverClosed} answers with Connection: close` : ''))
      }
    }
  } finally {
    await gen.stop()
    await Promise.all(servers.map(s => s.server.stop()))
    await dep.close()
  }
  return bootstrapFigures(runs)
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
    const ok = (homing.result.statuses['200'] ?? 0) === homing.result.requests && Object.keys(homing.result.errors).length === 0
    const rHttp = ratio(homing.result.rate, http?.result.rate)
    const rKoa = ratio(homing.result.rate, koa?.result.rate)
    const baselines = [http, koa].filter((b): b is HttpRun => b !== undefined)
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
  }
  return figures
}
