// The operations endpoints of every process: /healthz (the process answers), /readyz (it can do
// its work: the registry answers and it is not shutting down) and /metrics (Prometheus text).
// The sidecar serves them on its own port (bootstrap/http/ops.ts), a broker node on listen.http.
import http from 'node:http'
import { listen } from './listen.js'
import type { Metrics } from './metrics/metrics.js'
import { StoreRefusedError, type Store } from './store/store.js'

export interface Probes {
  store: Store
  metrics?: Metrics
  /** Not `running` while starting or shutting down: a load balancer should send no new work here. */
  state?: () => 'starting' | 'running' | 'draining'
  /** Why the process cannot do its work though the registry answers (a broker not reading its moves); null when it can. */
  unready?: () => string | null
}

export interface ProbeAnswer {
  status: number
  contentType: string
  body: string
}

export const PROBE_PATHS = ['/healthz', '/readyz', '/metrics'] as const

const json = (status: number, body: Record<string, string>): ProbeAnswer =>
  ({ status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) })

/** The answer for one of PROBE_PATHS; null for any other path (or /metrics without metrics). */
export async function probe (path: string, probes: Probes): Promise<ProbeAnswer | null> {
  switch (path) {
    case '/healthz':
      return json(200, { status: 'ok' })
    case '/readyz': {
      const state = probes.state?.() ?? 'running'
      if (state !== 'running') return json(503, { status: state })
      try {
        await probes.store.ping()
        const reason = probes.unready?.() ?? null
        if (reason !== null) return json(503, { status: reason })
        return json(200, { status: 'ready' })
      } catch (err) {
        // docs/operations.md, "Redis outage": the process stays up and recovers by itself; it is only not ready.
        // A registry refusing writes is not ready either, until a probe write works (store ping).
        return json(503, { status: err instanceof StoreRefusedError ? 'registry refuses writes' : 'registry unavailable' })
      }
    }
    case '/metrics':
      if (probes.metrics === undefined) return null
      return { status: 200, contentType: probes.metrics.contentType, body: await probes.metrics.render() }
    default:
      return null
  }
}

export interface ProbeServer {
  port: number
  close: () => Promise<void>
}

/** A plain HTTP server answering only the probes (a broker node's listen.http). */
/** `key`: the config key of the port, named when it cannot be had. */
export async function startProbeServer (host: string, port: number, probes: Probes, key = 'listen.http'): Promise<ProbeServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const answer = req.method === 'GET' || req.method === 'HEAD'
      ? probe(path, probes)
      : Promise.resolve(json(405, { error: 'only GET and HEAD' }))
    answer.then(a => a ?? json(404, { error: `no route for ${path}` }), () => json(500, { error: 'probe failed' }))
      .then(a => {
        res.writeHead(a.status, { 'Content-Type': a.contentType, 'Content-Length': Buffer.byteLength(a.body) })
        res.end(req.method === 'HEAD' ? undefined : a.body)
      })
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  await listen(server, host, port, key)
  const address = server.address()
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    close: () => new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }
}
