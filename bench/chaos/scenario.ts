// The chaos run (docs/hardening.md): one job moves every device of a product from instance
// chaos-src to chaos-dst while some of them are online, and meanwhile the sidecar is SIGKILLed and
// started again at random points, a broker node is SIGKILLed and started again, and Redis is
// SIGKILLed and started again from its append-only file. At the end: devices lost, doubly assigned
// and never reconnected, all of which must be 0.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newDevice, openRedisStore, type Certificate, type Store } from '../registry-parts.js'
import { startLoadtest, type Loadtest } from '../loadtest/run.js'
import { countOutcome, type ChaosCounts } from './counting.js'
import { freePort, HomingProcess, OwnRedis } from './processes.js'

export interface ChaosOptions {
  devices: number
  /** Of those, how many are online (load-test devices) when the job starts. */
  online: number
  sidecarKills: number
  brokerKill: boolean
  redisRestart: boolean
  /** The whole run ends (and fails) after this long. */
  timeoutMs: number
  log: (line: string) => void
}

export interface ChaosResult {
  counts: ChaosCounts
  examples: Record<keyof ChaosCounts, string[]>
  jobStatus: string
  events: string[]
  wallMs: number
}

const PK = 'chaosPk01'
const TOKEN = 'chaos-token-0123456789abcdef'
const SRC = 'chaos-src'
const DST = 'chaos-dst'

type Event = 'sidecar' | 'broker' | 'redis'

/** Events in a random order, each at a random share of the job's devices (sorted). */
function plan (o: ChaosOptions): { event: Event, at: number }[] {
  const events: Event[] = [...Array<Event>(o.sidecarKills).fill('sidecar'), ...(o.brokerKill ? ['broker' as const] : []), ...(o.redisRestart ? ['redis' as const] : [])]
  const shares = events.map(() => 0.05 + Math.random() * 0.85).sort((a, b) => a - b)
  return events.sort(() => Math.random() - 0.5).map((event, i) => ({ event, at: Math.floor(shares[i]! * o.devices) }))
}

async function until (what: string, ms: number, test: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms
  for (;;) {
    try {
      if (await test()) return
    } catch {} // Redis down for a moment: try again.
    if (Date.now() > end) throw new Error(`chaos: ${what} within ${Math.round(ms / 1000)} s`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

export async function runChaos (o: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now()
  const deadline = started + o.timeoutMs
  const left = (): number => Math.max(1000, deadline - Date.now())
  const dir = mkdtempSync(join(tmpdir(), 'homing-chaos-'))
  const redis = new OwnRedis(await freePort(), dir)
  const [httpPort, srcPort, dstPort] = [await freePort(), await freePort(), await freePort()]
  const file = join(dir, 'config.json')
  const instance = (id: string, port: number) => ({ id, region: 'r1', account: 'chaos', endpoint: { host: '127.0.0.1', port }, listen: { host: '127.0.0.1', mqtt: port } })
  writeFileSync(file, JSON.stringify({
    redis: redis.url,
    keyPrefix: 'chaos:',
    // Small batches: the job advances in 200 steps, so the kills land mid-job.
    bootstrap: { host: '127.0.0.1', port: httpPort, jobPollMs: 100, jobBatchSize: Math.max(5, Math.ceil(o.devices / 200)) },
    broker: { notifyTimeoutMs: 2000 },
    regions: [{ id: 'r1', name: 'Chaos', lat: 0, lon: 0 }],
    accounts: [{ id: 'chaos', name: 'Chaos', token: TOKEN }],
    instances: [instance(SRC, srcPort), instance(DST, dstPort)]
  }))
  const sidecar = new HomingProcess('homing bootstrap', ['bootstrap', '--config', file])
  const src = new HomingProcess(`homing broker ${SRC}`, ['broker', '--config', file, '--instance', SRC, '--node', `${SRC}-1`])
  const dst = new HomingProcess(`homing broker ${DST}`, ['broker', '--config', file, '--instance', DST, '--node', `${DST}-1`])
  let store: Store | null = null
  let lt: Loadtest | null = null
  const events: string[] = []
  try {
    await redis.start()
    store = await openRedisStore({ url: redis.url, keyPrefix: 'chaos:', commandTimeoutMs: 10_000 })
    const certs = await seed(store, o.devices)
    await Promise.all([sidecar.start(), src.start(), dst.start()])
    o.log(`chaos: ${o.devices} devices at ${SRC}, ${o.online} of them online; redis on ${redis.port} (append-only), sidecar on ${httpPort}`)

    const online = certs.slice(0, o.online)
    lt = await startLoadtest(online, {
      url: `http://127.0.0.1:${httpPort}`,
      workers: 1,
      sources: ['127.0.0.1'],
      ramp: 500,
      inFlight: 100,
      publishRate: 0,
      keepalive: 30,
      form: 'link-sdk-c',
      connectTimeout: 5000,
      backoffBase: 200,
      backoffCap: 2000,
      mqttTls: false,
      reportEveryMs: 100
    })
    if (!await lt.until(t => t.connected >= o.online, Math.min(60_000, left()))) throw new Error(`chaos: only ${lt.total.connected} of ${o.online} devices connected at ${SRC}`)

    const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/distribution/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'this-account', policy: 'region', sourceInstanceId: SRC, productKey: PK, deviceNames: certs.map(c => c.deviceName), targetInstanceId: DST })
    })
    const answer = await res.json() as { jobId?: string }
    if (res.status !== 202 || answer.jobId === undefined) throw new Error(`chaos: POST /distribution/jobs answered ${res.status}: ${JSON.stringify(answer)}`)
    const jobId = answer.jobId
    const registry = store
    const progress = async (): Promise<number> => {
      const job = await registry.getJob(jobId)
      return job === null ? 0 : job.succeeded + job.failed
    }

    for (const { event, at } of plan(o)) {
      await until(`the job reaching ${at} devices`, left(), async () => await progress() >= at)
      const done = await progress()
      const t0 = Date.now()
      if (event === 'sidecar') await sidecar.restart()
      else if (event === 'broker') {
        await src.kill()
        await new Promise(resolve => setTimeout(resolve, 1000))
        await src.restart()
      } else {
        await redis.kill()
        await new Promise(resolve => setTimeout(resolve, 1000))
        await redis.start()
      }
      const line = `${event === 'sidecar' ? 'sidecar SIGKILL' : event === 'broker' ? `broker ${SRC} SIGKILL` : 'redis SIGKILL'} at ${done}/${o.devices} devices recorded, back after ${Date.now() - t0} ms`
      events.push(line)
      o.log(`chaos: ${line}`)
    }

    let status = ''
    await until('the job finishing', left(), async () => {
      status = (await registry.getJob(jobId))?.status ?? ''
      return status === 'distributed' || status === 'failed'
    })
    o.log(`chaos: job ${jobId} ${status} after ${Math.round((Date.now() - started) / 1000)} s; waiting for the online devices to settle at ${DST}`)
    const names = certs.map(c => c.deviceName)
    const onlineNames = online.map(c => c.deviceName)
    const settle = async (): Promise<boolean> => (await countOutcome({ store: registry, productKey: PK, jobId, deviceNames: names, online: onlineNames, destination: DST })).counts.neverReconnected === 0
    await until('the online devices connecting at the destination', Math.min(60_000, left()), settle).catch(() => {})
    for (const p of [sidecar, src, dst]) {
      const crashed = p.crashed()
      if (crashed !== null) events.push(`CRASH: ${crashed}`)
    }
    const { counts, examples } = await countOutcome({ store: registry, productKey: PK, jobId, deviceNames: names, online: onlineNames, destination: DST })
    return { counts, examples, jobStatus: status, events, wallMs: Date.now() - started }
  } finally {
    await lt?.finish().catch(() => {})
    await Promise.all([sidecar.kill(), src.kill(), dst.kill()])
    await store?.close().catch(() => {})
    await redis.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The product at the source and `n` devices there, written straight into the registry. */
async function seed (store: Store, n: number): Promise<Certificate[]> {
  const now = Date.now()
  await store.createProduct({ productKey: PK, instanceId: SRC, name: 'Chaos', topicCategories: [], tsl: null, parsingScript: null, readOnly: false, sourceInstanceId: null, createdAt: now, updatedAt: now })
  const certs: Certificate[] = []
  for (let start = 0; start < n; start += 1000) {
    const devices = Array.from({ length: Math.min(1000, n - start) }, (_, i) => newDevice(PK, `chaos-${String(start + i).padStart(6, '0')}`, SRC, now))
    const taken = await store.createDevices(devices)
    if (taken.length > 0) throw new Error(`chaos: device names taken: ${taken.slice(0, 3).join(', ')}`)
    certs.push(...devices.map(d => ({ productKey: d.productKey, deviceName: d.deviceName, deviceSecret: d.deviceSecret })))
  }
  return certs
}
