// Re-homing: N online devices on a two-node instance, one distribution job to another instance (one
// or two nodes); job start -> every device connected at the destination. Devices are the load
// generator's (docs/protocol.md, "The device application"): notify -> reply -> bootstrap -> CONNECT
// at the new home. The CPU each part spent in that window is read from /proc, per re-homed device.
import { Redis } from 'ioredis'
import { Deployment, REDIS_URL, TOKEN, type RunningServer } from '../deployment.js'
import { startLoadtest } from '../loadtest/run.js'
import { loopBusy, type LoopTime } from '../loadtest/stats.js'
import { quietSources } from '../loopback-sources.js'
import { rehomeFigures, type RehomeOutcome } from '../figures.js'
import { capCpu } from '../cpu-cap.js'
import { cpuWindow } from '../process-cpu.js'
import type { Figure } from '../report.js'
import type { ScenarioContext } from '../scenario.js'

const PK = 'a1benchMove'
/** Devices per load-test worker process. */
const PER_WORKER = 12_000
/** Source addresses of the generator: each ends with a few thousand sockets (BENCHMARKS.md, "Re-homing"). */
const SOURCES = 16

async function api (url: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {})
  })
  const text = await res.text()
  return { status: res.status, json: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }
}

/** A broker instance's processes: its nodes, and with several the primary that hands sockets to them. */
function brokerPids (server: RunningServer): number[] {
  const nodes = Object.entries(server.ports).filter(([k]) => /^pid\d+$/.test(k)).map(([, pid]) => pid)
  return [server.pid, ...nodes]
}

/** Job POST -> the first and the last move event in the source instance's stream (its ids are ms timestamps). */
async function publishedBetween (key: string, t0: number): Promise<{ first: number | null, last: number | null }> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
  try {
    const at = async (end: '-' | '+'): Promise<number | null> => {
      const entries = end === '-' ? await redis.xrange(key, '-', '+', 'COUNT', 1) : await redis.xrevrange(key, '+', '-', 'COUNT', 1)
      const id = entries[0]?.[0]
      return id === undefined ? null : Number(id.split('-')[0]) - t0
    }
    return { first: await at('-'), last: await at('+') }
  } finally {
    redis.disconnect()
  }
}

export async function rehoming (ctx: ScenarioContext): Promise<Figure[]> {
  const n = ctx.quick ? 300 : 10_000
  const { dstNodes, devices: mode, rate, dstCpu } = ctx.rehoming
  const dep = await new Deployment([{ id: 'bench-src' }, { id: 'bench-dst' }]).open()
  let cap: { release: () => void } | null = null
  try {
    await dep.createProduct(PK, 'bench-src')
    const certs = await dep.createDevices(PK, 'bench-src', n)
    let file = dep.writeConfig()
    const src = await dep.start('homing-broker.ts', ['--config', file, '--instance', 'bench-src', '--nodes', '2'], ctx.profileArgs('rehoming-src'))
    // Capped nodes are workers behind the node cluster's primary, one node too: the primary, uncapped
    // as a load balancer would be, does the same work per connection for 1 and for 2 nodes.
    const dst = await dep.start('homing-broker.ts', ['--config', file, '--instance', 'bench-dst', '--nodes', String(dstNodes), ...(dstCpu === undefined ? [] : ['--workers', 'always'])], ctx.profileArgs('rehoming-dst'))
    cap = dstCpu === undefined ? null : capCpu(brokerPids(dst).slice(1), dstCpu, 'dst')
    ;(dep.instances[0] as { endpointPort?: number }).endpointPort = src.ports.mqtt
    ;(dep.instances[1] as { endpointPort?: number }).endpointPort = dst.ports.mqtt
    file = dep.writeConfig()
    const sidecar = await dep.start('homing-bootstrap.ts', ['--config', file, '--jobs'], ctx.profileArgs('rehoming-sidecar'))
    const url = `http://127.0.0.1:${sidecar.ports.http}`
    const workers = Math.ceil(n / PER_WORKER)
    const sources = quietSources(SOURCES)
    ctx.log(`  ${n} devices on bench-src (2 broker nodes) -> bench-dst (${dstNodes} node${dstNodes === 1 ? '' : 's'}${dstCpu !== undefined ? `, each capped at ${dstCpu} core` : ''}); sidecar with the job runner; ${workers} load-test worker${workers === 1 ? '' : 's'} (sources ${sources[0]}..), ${mode} devices; job ${rate !== undefined ? `rate ${rate}/s` : 'unpaced'}`)

    const lt = await startLoadtest(certs, {
      url,
      workers,
      sources,
      ramp: 2000,
      inFlight: 200,
      publishRate: 0,
      keepalive: 1200,
      form: 'link-sdk-c',
      deviceMode: mode,
      connectTimeout: 30_000,
      backoffBase: 500,
      backoffCap: 10_000,
      mqttTls: false,
      reportEveryMs: 100,
      nodeArgs: ctx.profileArgs('rehoming-generator')
    })
    let outcome: RehomeOutcome
    try {
      if (!await lt.until(t => t.connected >= n, 180_000)) throw new Error(`only ${lt.total.connected}/${n} devices connected at the source`)
      ctx.log(`  ${n} online at bench-src; starting the job`)
      const cpu = await cpuWindow([
        { name: 'sidecar', pids: [sidecar.pid] },
        { name: 'source', pids: brokerPids(src) },
        // Capped: the nodes apart from the primary that hands them their sockets.
        ...(dstCpu === undefined
          ? [{ name: 'destination', pids: brokerPids(dst) }]
          : [{ name: 'destination nodes', pids: brokerPids(dst).slice(1) }, { name: 'destination primary', pids: [dst.pid] }]),
        { name: 'generator', pids: lt.pids }
      ], REDIS_URL)
      const loops0 = lt.loops
      const t0 = Date.now()
      const job = await api(`${url}/api/v1/distribution/jobs`, 'POST', {
        method: 'this-account',
        policy: 'region',
        sourceInstanceId: 'bench-src',
        productKey: PK,
        deviceNames: certs.map(c => c.deviceName),
        targetInstanceId: 'bench-dst',
        ...(rate !== undefined ? { rate } : {})
      })
      if (job.status !== 202) throw new Error(`POST /distribution/jobs answered ${job.status}: ${JSON.stringify(job.json)}`)
      const jobId = String(job.json.jobId)
      let jobMs: number | null = null
      const polling = (async () => {
        for (let i = 0; i < 120; i++) {
          const j = await api(`${url}/api/v1/distribution/jobs/${jobId}`, 'GET')
          const status = (j.json.status ?? (j.json.job as { status?: string } | undefined)?.status) as string | undefined
          if (status === 'distributed' || status === 'failed') {
            jobMs = Date.now() - t0
            return status
          }
          // Each read of the job counts its 10,000 records on the sidecar: once a second, not to weigh on the run.
          await new Promise(resolve => setTimeout(resolve, 1000))
        }
        return 'timeout'
      })()
      const all = await lt.until(t => t.rehomed >= n, 120_000)
      const cpuUs = await cpu.end()
      const windowMs = Date.now() - t0
      const loops1 = lt.loops
      const status = await polling
      const published = await publishedBetween(`${dep.keyPrefix}events:bench-src`, t0)
      const total = lt.total
      ctx.log(`  job ${jobId}: ${status} after ${jobMs ?? '-'} ms; rehomed ${total.rehomed}/${n}, notified ${total.notified}`)
      const summary = await lt.finish()
      outcome = {
        devices: n,
        rehomed: total.rehomed,
        allConnectedMs: all && total.lastRehomedAt !== null ? total.lastRehomedAt - t0 : null,
        jobMs,
        summary,
        dstNodes,
        ...(dstCpu !== undefined ? { dstCpu } : {}),
        mode,
        ...(rate !== undefined ? { rate } : {}),
        cpuUs,
        windowMs,
        publishedMs: published,
        notifyMs: {
          first: total.firstNotifiedAt === null ? null : total.firstNotifiedAt - t0,
          last: total.lastNotifiedAt === null ? null : total.lastNotifiedAt - t0
        },
        generatorBusy: loops1.map((to, i) => {
          const from = loops0[i]
          return from !== undefined && to !== undefined ? loopBusy(from as LoopTime, to) : null
        })
      }
    } finally {
      await lt.finish()
    }
    return rehomeFigures(outcome)
  } finally {
    await dep.close()
    cap?.release()
  }
}
