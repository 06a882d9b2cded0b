// Bootstrap requests/s and p50/p99, single process, Homing's sidecar (Redis registry) vs bare
// node:http and a bare Koa app answering the same bytes; a new TCP connection per request (as
// devices do) and keep-alive.
import { Deployment, startServer, type RunningServer } from '../deployment.js'
import { LoadGenerator } from '../load/generator.js'
import { bootstrapFigures, HOMING, KOA, KOA_KA, latencyMs, NODE_HTTP, NODE_HTTP_KA, type HttpRun } from '../figures.js'
import type { HttpMode } from '../load/http-flood.js'
import type { Figure } from '../report.js'
import type { ScenarioContext } from '../scenario.js'

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
    // Which listener each line measures: the baselines' closing listener answers the sidecar's bytes.
    // (Against the keep-alive listeners a new connection per request leaves TIME_WAIT on the
    // generator's ports, whose search then slows connect(): a generator artifact, so not measured.)
    const plan: Record<HttpMode, { name: string, server: RunningServer, port: number }[]> = {
      'new-connection': [
        { name: HOMING, server: homing, port: homing.ports.http as number },
        { name: NODE_HTTP, server: http, port: http.ports.httpClose as number },
        { name: KOA, server: koa, port: koa.ports.httpClose as number }
      ],
      'keep-alive': [
        { name: HOMING, server: homing, port: homing.ports.http as number },
        { name: NODE_HTTP_KA, server: http, port: http.ports.http as number },
        { name: KOA_KA, server: koa, port: koa.ports.http as number }
      ]
    }
    ctx.log(`  ${devices} devices, ${concurrency} concurrent request loops, ${durationMs / 1000} s per server and mode, one generator process`)
    for (const mode of ['new-connection', 'keep-alive'] as const) {
      for (const { name, server, port } of plan[mode]) {
        await gen.http({ port, mode, concurrency, durationMs: warmupMs, queries, sources }) // warm-up
        const before = await server.measure()
        const result = await gen.http({ port, mode, concurrency, durationMs, queries, sources })
        const after = await server.measure()
        const cpuPerRequest = result.requests > 0 ? (after.cpuUs - before.cpuUs) / result.requests : null
        runs.push({ server: name, mode, result, cpuPerRequest })
        ctx.log(`  ${mode.padEnd(14)} ${name}: ${Math.round(result.rate)} req/s, p50 ${latencyMs(result.latency, 50)} ms, p99 ${latencyMs(result.latency, 99)} ms, ${cpuPerRequest === null ? '-' : Math.round(cpuPerRequest)} µs CPU/request, statuses ${JSON.stringify(result.statuses)}` +
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
