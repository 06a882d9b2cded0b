// Bootstrap requests/s and p50/p99, single process, Homing's sidecar (Redis registry) vs bare
// node:http and a bare Koa app answering the same bytes; a new TCP connection per request (as
// devices do) and keep-alive; then the sidecar behind HAProxy, which keeps its connections to the
// sidecar open (docs/operations.md, "Behind a load balancer"), with both processes' CPU per request.
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { bootstrapRequest, readResponse, type BootstrapQuery } from '../../device/bootstrap-wire.js'
import { Deployment, startServer, type RunningServer } from '../deployment.js'
import { haproxyBinary, startHaproxy } from '../haproxy.js'
import { LoadGenerator } from '../load/generator.js'
import { quietSources } from '../loopback-sources.js'
import { bootstrapFigures, FLOOR_HTTP, HOMING, KOA, KOA_KA, latencyMs, NODE_HTTP, NODE_HTTP_KA, type HttpRun } from '../figures.js'
import type { HttpMode } from '../load/http-flood.js'
import type { Figure } from '../report.js'
import type { ScenarioContext } from '../scenario.js'

export async function bootstrapRate (ctx: ScenarioContext): Promise<Figure[]> {
  const devices = ctx.quick ? 1000 : 10_000
  const durationMs = ctx.quick ? 1500 : 15_000
  const warmupMs = ctx.quick ? 500 : 2000
  const concurrency = 50
  // Each line gets loopback source addresses of its own, the least used of 127.0.13.x: a bound connect's port
  // search slows steeply with the TIME_WAIT sockets an earlier line left on an address (bench/loopback-sources.ts),
  // and 32 keep a 15 s line at a few thousand sockets per address.
  const sources = (): string[] => quietSources(ctx.quick ? 8 : 32, '127.0.13.')
  const dep = await new Deployment([{ id: 'bench-a', endpointPort: 18830 }]).open()
  const gen = await LoadGenerator.start()
  const servers: { name: string, server: RunningServer }[] = []
  const runs: HttpRun[] = []
  try {
    await dep.createProduct('a1benchBoot', 'bench-a')
    const certs = await dep.createDevices('a1benchBoot', 'bench-a', devices)
    const queries = certs.map(c => ({ productKey: c.productKey, deviceName: c.deviceName, clientId: `${c.productKey}.${c.deviceName}` }))
    // HAProxy connects from 127.0.0.1; the generator's direct requests come from 127.0.13.x, as devices.
    const file = withProxies(dep.writeConfig(), [HAPROXY_SOURCE])
    const [homing, http, koa, floor] = await Promise.all([dep.start('homing-bootstrap.ts', ['--config', file], ctx.profileArgs('bootstrap')), startServer('bare-http.ts'), startServer('bare-koa.ts'), startServer('floor-http.ts', ['--config', file], ctx.profileArgs('floor-http'))])
    servers.push({ name: HOMING, server: homing }, { name: NODE_HTTP, server: http }, { name: KOA, server: koa }, { name: FLOOR_HTTP, server: floor })
    // Which listener each line measures: the baselines' closing listener answers the sidecar's bytes.
    // (Against the keep-alive listeners a new connection per request leaves TIME_WAIT on the
    // generator's ports, whose search then slows connect(): a generator artifact, so not measured.)
    const plan: Record<HttpMode, { name: string, server: RunningServer, port: number }[]> = {
      'new-connection': [
        { name: HOMING, server: homing, port: homing.ports.http as number },
        { name: NODE_HTTP, server: http, port: http.ports.httpClose as number },
        { name: KOA, server: koa, port: koa.ports.httpClose as number },
        // The floor of any sidecar that reads a shared Redis registry per request (bench/servers/floor-http.ts).
        { name: FLOOR_HTTP, server: floor, port: floor.ports.httpClose as number }
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
        const own = sources()
        await gen.http({ port, mode, concurrency, durationMs: warmupMs, queries, sources: own }) // warm-up
        const before = await server.measure()
        const result = await gen.http({ port, mode, concurrency, durationMs, queries, sources: own })
        const after = await server.measure()
        const cpuPerRequest = result.requests > 0 ? (after.cpuUs - before.cpuUs) / result.requests : null
        runs.push({ server: name, mode, result, cpuPerRequest })
        ctx.log(`  ${mode.padEnd(14)} ${name}: ${Math.round(result.rate)} req/s, p50 ${latencyMs(result.latency, 50)} ms, p99 ${latencyMs(result.latency, 99)} ms, ${cpuPerRequest === null ? '-' : Math.round(cpuPerRequest)} µs CPU/request, statuses ${JSON.stringify(result.statuses)}` +
          (Object.keys(result.errors).length > 0 ? `, errors ${JSON.stringify(result.errors)}` : '') +
          (result.serverClosed > 0 ? `, ${result.serverClosed} answers with Connection: close` : ''))
      }
    }
    const viaProxy = await throughHaproxy(ctx, dep, homing, gen, { concurrency, durationMs, warmupMs, queries, sources: sources() })
    return [...bootstrapFigures(runs), ...haproxyFigures(viaProxy, runs)]
  } finally {
    await gen.stop()
    await Promise.all(servers.map(s => s.server.stop()))
    await dep.close()
  }
}

const HAPROXY_SOURCE = '127.0.0.1'
const VIA_HAPROXY = 'Homing sidecar behind HAProxy'

interface Load {
  concurrency: number
  durationMs: number
  warmupMs: number
  queries: BootstrapQuery[]
  sources: string[]
}

interface ProxiedRun extends HttpRun {
  /** HAProxy's CPU (user + system) per request, µs. */
  proxyCpuPerRequest: number | null
  /** Requests HAProxy sent to the sidecar on a new connection (`connect`) and on a kept one (`reuse`). */
  backend: { connect: number, reuse: number }
}

/** The deployment's config with `bootstrap.keepAlive.proxies` set, in a file beside it. */
function withProxies (file: string, proxies: string[]): string {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { bootstrap: { keepAlive?: Record<string, unknown> } }
  config.bootstrap.keepAlive = { ...config.bootstrap.keepAlive, proxies }
  const out = file.replace(/\.json$/, '-proxies.json')
  writeFileSync(out, JSON.stringify(config, null, 2))
  return out
}

/** One Link SDK request through HAProxy: whether the answer still has what the SDK's reader needs. */
function sdkReadable (port: number, query: BootstrapQuery): Promise<string> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bootstrapRequest('bootstrap.example.com', query)))
    let data = Buffer.alloc(0)
    const done = (verdict: string): void => { socket.destroy(); resolve(verdict) }
    socket.on('data', chunk => {
      data = Buffer.concat([data, chunk])
      try {
        const answer = readResponse(data)
        if (answer === null) return
        const head = data.subarray(0, data.indexOf('\r\n\r\n')).toString('latin1')
        done(answer.status === 200 && /\r\nContent-Length: \d+(\r\n|$)/.test(head) ? 'yes' : `no: ${JSON.stringify(head)}`)
      } catch (err) {
        done(`no: ${(err as Error).message}`)
      }
    })
    socket.on('error', err => done(`no: ${err.message}`))
    setTimeout(() => done('no answer within 5 s'), 5000).unref()
  })
}

/** The sidecar behind HAProxy (`http-reuse always`), clients connecting to HAProxy; skipped without haproxy. */
async function throughHaproxy (ctx: ScenarioContext, dep: Deployment, homing: RunningServer, gen: LoadGenerator, load: Load): Promise<ProxiedRun[]> {
  const binary = haproxyBinary()
  if (binary === null) {
    ctx.log('  via haproxy: skipped, haproxy is not installed (apt-get install haproxy)')
    return []
  }
  const proxy = await startHaproxy(binary, dep.dir, { host: '127.0.0.1', port: homing.ports.http as number })
  const runs: ProxiedRun[] = []
  try {
    ctx.log(`  via haproxy (pid ${proxy.pid}, one thread, http-reuse always): the Link SDK's reader accepts the answer: ${await sdkReadable(proxy.port, load.queries[0] as BootstrapQuery)}`)
    for (const mode of ['new-connection', 'keep-alive'] as const) {
      const options = { port: proxy.port, mode, concurrency: load.concurrency, queries: load.queries, sources: load.sources }
      await gen.http({ ...options, durationMs: load.warmupMs })
      const before = await homing.measure()
      const proxyBefore = proxy.cpuUs()
      const backendBefore = await proxy.backendConnections()
      const result = await gen.http({ ...options, durationMs: load.durationMs })
      const after = await homing.measure()
      const proxyUs = proxy.cpuUs() - proxyBefore
      const backendAfter = await proxy.backendConnections()
      const reused = { connect: backendAfter.connect - backendBefore.connect, reuse: backendAfter.reuse - backendBefore.reuse }
      const cpuPerRequest = result.requests > 0 ? (after.cpuUs - before.cpuUs) / result.requests : null
      const proxyCpuPerRequest = result.requests > 0 ? proxyUs / result.requests : null
      runs.push({ server: VIA_HAPROXY, mode, result, cpuPerRequest, proxyCpuPerRequest, backend: reused })
      ctx.log(`  via haproxy, ${mode.padEnd(14)}: ${Math.round(result.rate)} req/s, p50 ${latencyMs(result.latency, 50)} ms, p99 ${latencyMs(result.latency, 99)} ms, ` +
        `sidecar ${cpuPerRequest === null ? '-' : Math.round(cpuPerRequest)} µs CPU/request, haproxy ${proxyCpuPerRequest === null ? '-' : Math.round(proxyCpuPerRequest)} µs, ` +
        `to the sidecar ${reused.reuse} requests on kept connections and ${reused.connect} on new ones, statuses ${JSON.stringify(result.statuses)}` +
        (Object.keys(result.errors).length > 0 ? `, errors ${JSON.stringify(result.errors)}` : ''))
    }
  } finally {
    await proxy.stop()
  }
  return runs
}

const perCore = (us: number | null | undefined): number | null => typeof us === 'number' && us > 0 ? 1e6 / us : null

/** Pure: requests/s through HAProxy beside the direct figures, and requests per sidecar core-second. */
export function haproxyFigures (proxied: ProxiedRun[], direct: HttpRun[]): Figure[] {
  const figures: Figure[] = []
  const find = (server: string, mode: HttpMode): HttpRun | undefined => direct.find(r => r.server === server && r.mode === mode)
  for (const run of proxied) {
    const how = run.mode === 'new-connection' ? 'a new client connection per request' : 'clients keeping their connection'
    const baselines = [find(HOMING, 'new-connection'), find(NODE_HTTP, 'new-connection'), find(NODE_HTTP_KA, 'keep-alive'), find(KOA_KA, 'keep-alive')]
      .filter((r): r is HttpRun => r !== undefined)
    const label = (r: HttpRun): string => r.server === HOMING ? `${HOMING}, direct, Connection: close` : r.server
    const ok = (run.result.statuses['200'] ?? 0) === run.result.requests && Object.keys(run.result.errors).length === 0
    figures.push({
      scenario: `bootstrap requests/s via HAProxy (http-reuse always), ${how}`,
      subject: VIA_HAPROXY,
      value: run.result.rate,
      unit: 'req/s',
      baselines: baselines.map(b => ({ name: label(b), value: b.result.rate })),
      detail: `p50 ${latencyMs(run.result.latency, 50)} ms p99 ${latencyMs(run.result.latency, 99)} ms; sidecar ${run.cpuPerRequest?.toFixed(0) ?? '-'} µs CPU/request, ` +
        `HAProxy ${run.proxyCpuPerRequest?.toFixed(0) ?? '-'} µs; to the sidecar ${run.backend.reuse} requests on kept connections, ${run.backend.connect} on new ones` + (ok ? '' : `; answers ${JSON.stringify(run.result.statuses)} errors ${JSON.stringify(run.result.errors)}`)
    })
    const sidecarRate = perCore(run.cpuPerRequest)
    if (sidecarRate !== null) {
      figures.push({
        scenario: `bootstrap requests per sidecar CPU-second (one core) via HAProxy, ${how}`,
        subject: VIA_HAPROXY,
        value: sidecarRate,
        unit: 'req/core-s',
        baselines: baselines.flatMap(b => { const r = perCore(b.cpuPerRequest); return r === null ? [] : [{ name: label(b), value: r }] }),
        detail: `sidecar and HAProxy together: ${perCore((run.cpuPerRequest ?? 0) + (run.proxyCpuPerRequest ?? 0))?.toFixed(0) ?? '-'} req/core-s`
      })
    }
  }
  return figures
}
