// The registry at fleet scale, on a Redis Cluster of three masters the bench starts itself, beside one
// Redis server (also its own) in the same run: `homing devices import` of N devices (rate, memory per
// device), pages of 100 devices by instance at 10,000 and at N devices, Redis commands per bootstrap,
// per signed CONNECT and per page, and a distribution job of 10,000 offline devices.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig, type RedisTarget } from '../../shared/config.js'
import { openRedisStore } from '../../shared/store/redis.js'
import { startServer, TOKEN, type RunningServer } from '../deployment.js'
import { median, timeJobs } from '../job-timing.js'
import { LoadGenerator } from '../load/generator.js'
import { ownCluster } from '../redis-cluster.js'
import { importDevices, readCertificates } from '../registry-import.js'
import { collectCursors, pagingMode, percentile, samplePages, type PageSample, type PageTarget } from '../registry-pages.js'
import { registryFigures, type Measured, type PagesRun, type TargetRun } from '../registry-figures.js'
import type { ImportRun } from '../registry-import.js'
import { plainRedis } from '../redis-server.js'
import { delta, perOperation, RedisGroup } from '../redis-stats.js'
import type { Figure } from '../report.js'
import { sleep, type ScenarioContext } from '../scenario.js'

const PK = 'a1benchReg'
const INSTANCE = 'bench-a'

export interface RegistrySizes {
  /** Devices imported in all (the large listing). */
  devices: number
  /** The small listing, imported first. */
  small: number
  /** Devices of the offline job. */
  jobDevices: number
  jobRuns: number
  /** Devices that bootstrap and CONNECT for the command counts. */
  clients: number
  /** Bootstrap requests are sent for this long (ms). */
  bootstrapMs: number
  /** Pages sampled per size when a page costs the same at any size (cursor paging). */
  pages: number
}

export function registrySizes (ctx: Pick<ScenarioContext, 'quick' | 'devices'>): RegistrySizes {
  const devices = ctx.devices ?? (ctx.quick ? 50_000 : 1_000_000)
  const small = ctx.quick || ctx.devices !== undefined
  return {
    devices,
    small: Math.min(10_000, Math.floor(devices / 2)),
    jobDevices: Math.min(10_000, devices),
    jobRuns: small ? 1 : 3,
    clients: Math.min(small ? 300 : 1000, Math.floor(devices / 2)),
    bootstrapMs: small ? 1000 : 3000,
    pages: Math.min(200, Math.max(10, Math.floor(devices / 20)))
  }
}

function writeConfig (dir: string, redis: RedisTarget, brokerRedis: string): string {
  const config = parseConfig({
    redis,
    keyPrefix: 'homing-bench:',
    bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 1000 },
    broker: { redis: brokerRedis },
    regions: [{ id: 'r1', name: 'Bench One', lat: 31.23, lon: 121.47 }],
    accounts: [{ id: 'bench', name: 'Bench', token: TOKEN }],
    instances: [{ id: INSTANCE, region: 'r1', account: 'bench', endpoint: { host: '127.0.0.1', port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0 } }]
  })
  const file = join(dir, 'config.json')
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

/** Redis (summed over `group`) and each server's CPU around `work`. */
async function measured<T> (group: RedisGroup, servers: RunningServer[], work: () => Promise<T>): Promise<Measured<T>> {
  const [redis0, ...cpu0] = await Promise.all([group.read(), ...servers.map(s => s.measure())])
  const load = loadavg()[0] as number
  const value = await work()
  const [redis1, ...cpu1] = await Promise.all([group.read(), ...servers.map(s => s.measure())])
  return { value, redis: delta(redis0, redis1), cpuUs: cpu1.map((u, i) => u.cpuUs - (cpu0[i]?.cpuUs ?? 0)), load }
}

async function measurePages (group: RedisGroup, sidecar: RunningServer, t: PageTarget, total: number, sampled: number): Promise<PagesRun> {
  const mode = await pagingMode(t)
  // A scan reads every device per page: at a million that is seconds a page, so only a few.
  const pages = mode === 'cursor' ? sampled : Math.min(sampled, Math.max(3, Math.floor(1_000_000 / total)))
  const cursors = mode === 'cursor' ? await collectCursors(t, Math.min(1000, Math.max(100, Math.ceil(total / 1000)))) : undefined
  const m = await measured(group, [sidecar], () => samplePages(t, { mode, pages, limit: 100, total, ...(cursors !== undefined ? { cursors } : {}) }))
  return { total, ...m }
}

/** A phase's figures as it ends, so that a long run that is stopped still told what it measured. */
function importLine (m: Measured<ImportRun>): string {
  const n = m.value.devices
  return `${Math.round(n / (m.value.ms / 1000))} devices/s, ${Math.round(m.redis.memory / n)} bytes/device, ` +
    `sidecar ${Math.round((m.cpuUs[0] ?? 0) / n)} µs CPU/device, Redis ${(m.redis.cpuUs / n).toFixed(1)} µs CPU/device, load ${m.load.toFixed(1)}`
}

function pagesLine (p: Measured<PageSample> & { total: number }): string {
  const n = p.value.ms.length
  return `${n} pages by ${p.value.mode} at ${p.total} devices, statuses ${JSON.stringify(p.value.statuses)}: p50 ${percentile(p.value.ms, 50).toFixed(1)} ms, p99 ${percentile(p.value.ms, 99).toFixed(1)} ms, ` +
    `sidecar ${Math.round((p.cpuUs[0] ?? 0) / n)} µs CPU/page, Redis ${Math.round(p.redis.cpuUs / n)} µs CPU/page, load ${p.load.toFixed(1)}; per page: ${perOperation(p.redis.calls, n)}`
}

interface Target {
  label: string
  redis: RedisTarget
  masters: number[]
  remove: () => Promise<void>
}

async function runTarget (ctx: ScenarioContext, target: Target, sizes: RegistrySizes, brokerRedis: string, gen: LoadGenerator): Promise<TargetRun> {
  const dir = mkdtempSync(join(tmpdir(), 'homing-bench-registry-'))
  const group = new RedisGroup(target.masters)
  const servers: RunningServer[] = []
  const log = (line: string): void => ctx.log(`  ${target.label}: ${line}`)
  try {
    const file = writeConfig(dir, target.redis, brokerRedis)
    const sidecar = await startServer('homing-bootstrap.ts', ['--config', file], ['--max-old-space-size=8192', ...ctx.profileArgs('registry-sidecar')])
    servers.push(sidecar)
    const url = `http://127.0.0.1:${sidecar.ports.http}`
    const created = await fetch(`${url}/api/v1/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instanceId: INSTANCE, name: 'Registry bench', productKey: PK })
    })
    if (created.status !== 201) throw new Error(`POST /products answered ${created.status}: ${await created.text()}`)
    const csv = join(dir, 'certificates.csv')
    const pageTarget: PageTarget = { url, token: TOKEN, productKey: PK, instanceId: INSTANCE }
    const importing = (count: number) => measured(group, [sidecar], () => importDevices({ url, token: TOKEN, productKey: PK, instanceId: INSTANCE, count, csvFile: csv }))

    const firstImport = await importing(sizes.small)
    log(`imported ${sizes.small} devices in ${(firstImport.value.ms / 1000).toFixed(1)} s, ${importLine(firstImport)}`)
    const smallPages = await measurePages(group, sidecar, pageTarget, sizes.small, sizes.pages)
    log(pagesLine(smallPages))

    const certs = await readCertificates(csv, sizes.clients)
    const queries = certs.map(c => ({ productKey: c.productKey, deviceName: c.deviceName, clientId: `${c.productKey}.${c.deviceName}` }))
    await gen.http({ port: sidecar.ports.http as number, mode: 'keep-alive', concurrency: 10, durationMs: 300, queries }) // warm-up
    const bootstrap = await measured(group, [sidecar], () => gen.http({ port: sidecar.ports.http as number, mode: 'keep-alive', concurrency: 10, durationMs: sizes.bootstrapMs, queries }))
    log(`${bootstrap.value.requests} bootstrap requests, statuses ${JSON.stringify(bootstrap.value.statuses)}; per request: ${perOperation(bootstrap.redis.calls, bootstrap.value.requests)}`)

    const broker = await startServer('homing-broker.ts', ['--config', file, '--instance', INSTANCE, '--nodes', '1'], ctx.profileArgs('registry-broker'))
    servers.push(broker)
    const brokerGroup = new RedisGroup([Number(new URL(brokerRedis).port)])
    let connect: TargetRun['connect']
    try {
      const brokerParts = await brokerGroup.read()
      const flood = await measured(group, [broker], async () => {
        const result = await gen.connect({ port: broker.ports.mqtt as number, inFlight: 50 }, certs)
        await sleep(500) // the online marks written after CONNACK
        return result
      })
      connect = { ...flood, brokerParts: delta(brokerParts, await brokerGroup.read()) }
      log(`${flood.value.accepted}/${flood.value.attempted} CONNECTs accepted; per CONNECT: ${perOperation(flood.redis.calls, flood.value.accepted)}`)
      await gen.close()
    } finally {
      brokerGroup.close()
      await broker.stop()
      servers.pop()
    }

    const store = await openRedisStore({ redis: target.redis, keyPrefix: 'homing-bench:jobs:', commandTimeoutMs: 30_000 })
    let job: number[]
    try {
      job = (await timeJobs(store, { devices: sizes.jobDevices, runs: sizes.jobRuns, batch: 1000 })).map(t => t.distributed)
    } finally {
      await store.close()
    }
    log(`job of ${sizes.jobDevices} offline devices: ${job.map(ms => `${Math.round(ms)} ms`).join(', ')}`)

    const restImport = await importing(sizes.devices - sizes.small)
    log(`imported ${sizes.devices - sizes.small} more in ${(restImport.value.ms / 1000).toFixed(1)} s, ${importLine(restImport)}`)
    const largePages = await measurePages(group, sidecar, pageTarget, sizes.devices, sizes.pages)
    log(pagesLine(largePages))

    return { label: target.label, imports: [firstImport, restImport], pages: [smallPages, largePages], bootstrap, connect, jobMs: job, jobDevices: sizes.jobDevices }
  } finally {
    group.close()
    await Promise.all(servers.map(s => s.stop()))
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function registry (ctx: ScenarioContext): Promise<Figure[]> {
  const sizes = registrySizes(ctx)
  ctx.log(`  import of ${sizes.devices} devices (${sizes.small} first), pages of 100 at ${sizes.small} and ${sizes.devices}, ` +
    `${sizes.clients} devices bootstrap and CONNECT, a job of ${sizes.jobDevices} offline devices x ${sizes.jobRuns}; ` +
    'a Redis Cluster of 3 masters, then one Redis server (baseline); the broker\'s own parts on a third Redis')
  const brokerRedis = await plainRedis()
  const gen = await LoadGenerator.start()
  const runs: TargetRun[] = []
  try {
    const starts: (() => Promise<Target>)[] = [
      async () => {
        const c = await ownCluster(3)
        return { label: 'Redis Cluster, 3 masters', redis: { cluster: c.urls }, masters: c.ports, remove: c.remove }
      },
      async () => {
        const r = await plainRedis()
        return { label: 'one Redis', redis: r.url, masters: [r.port], remove: r.remove }
      }
    ]
    // One at a time, each removed before the next starts: a million devices hold a GiB or so.
    for (const start of starts) {
      const target = await start()
      try {
        runs.push(await runTarget(ctx, target, sizes, brokerRedis.url, gen))
      } finally {
        await target.remove()
      }
    }
  } finally {
    await gen.stop()
    await brokerRedis.remove()
  }
  ctx.log(`  job medians: ${runs.map(r => `${r.label} ${Math.round(median(r.jobMs))} ms`).join(', ')}`)
  return registryFigures(runs[0] as TargetRun, runs[1] as TargetRun)
}
