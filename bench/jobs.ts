// Distribution job throughput, registry work only (every device offline, so no broker is involved):
// POST /api/v1/distribution/jobs with N devices -> 202 -> `distributed`, through a real sidecar and
// its job runner, beside the floor of the same registry work done bare in the same run.
//
//   node --import tsx bench/jobs.ts [--devices 10000] [--runs 3] [--store redis|memory|both] [--batch 1000]
//   (REDIS_URL, default redis://127.0.0.1:6379/0; keys under a prefix of the run's own, removed after)
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { startSidecar } from '../bootstrap/http/server.js'
import { parseConfig, Topology } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { silentLogger } from '../shared/log.js'
import { MemoryStore } from '../shared/store/memory.js'
import { openRedisStore } from '../shared/store/redis.js'
import type { Store } from '../shared/store/store.js'
import { dropPrefix } from './redis-prefix.js'

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    store: { type: 'string', default: 'both' },
    batch: { type: 'string', default: '1000' }
  }
})
const DEVICES = Number(args.devices)
const RUNS = Number(args.runs)
const BATCH = Number(args.batch)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'
const TOKEN = 'bench-token-0123456789abcdef'
const PK = 'a1benchJobs'

const config = parseConfig({
  bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 1000, bodyLimit: 4 * 1024 * 1024 },
  regions: [{ id: 'r1', name: 'Region 1', lat: 0, lon: 0 }],
  accounts: [{ id: 'bench', name: 'Bench', token: TOKEN }],
  instances: [
    { id: 'inst-a', region: 'r1', account: 'bench', endpoint: { host: 'a.example.com', port: 1883 } },
    { id: 'inst-b', region: 'r1', account: 'bench', endpoint: { host: 'b.example.com', port: 1883 } }
  ]
})

interface Timing { accepted: number, distributed: number }

/** One job of every device from wherever they are to the other instance, timed from the POST. */
async function oneJob (url: string, from: string, to: string, names: string[]): Promise<Timing> {
  const headers = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }
  const t0 = performance.now()
  const res = await fetch(`${url}/api/v1/distribution/jobs`, {
    method: 'POST', headers, body: JSON.stringify({ method: 'this-account', policy: 'region', sourceInstanceId: from, targetInstanceId: to, productKey: PK, deviceNames: names })
  })
  const { jobId } = await res.json() as { jobId: string }
  if (res.status !== 202) throw new Error(`job refused: ${res.status}`)
  const accepted = performance.now() - t0
  for (;;) {
    const job = await (await fetch(`${url}/api/v1/distribution/jobs/${jobId}`, { headers })).json() as { status: string, counts: { succeeded: number } }
    if (job.status === 'distributed') {
      if (job.counts.succeeded !== names.length) throw new Error(`only ${job.counts.succeeded} of ${names.length} moved`)
      return { accepted, distributed: performance.now() - t0 }
    }
    if (job.status === 'failed') throw new Error('job failed')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function benchStore (label: string, store: Store): Promise<Timing[]> {
  const names = Array.from({ length: DEVICES }, (_, i) => `bench-${String(i).padStart(6, '0')}`)
  const now = Date.now()
  await store.createProduct({ productKey: PK, instanceId: 'inst-a', name: 'Bench', topicCategories: [], tsl: null, parsingScript: null, readOnly: false, sourceInstanceId: null, createdAt: now, updatedAt: now })
  for (let i = 0; i < names.length; i += 1000) await store.createDevices(names.slice(i, i + 1000).map(dn => newDevice(PK, dn, 'inst-a')))
  const server = await startSidecar({ config, topology: new Topology(config), store, log: silentLogger }, { port: 0 })
  const runner = new JobRunner({ store, topology: new Topology(config), pollMs: config.bootstrap.jobPollMs, batchSize: BATCH })
  runner.start()
  const url = `http://127.0.0.1:${server.port}`
  const timings: Timing[] = []
  try {
    // Back and forth: each run moves every device (A -> B, B -> A, ...).
    for (let run = 0; run < RUNS; run++) {
      const [from, to] = run % 2 === 0 ? ['inst-a', 'inst-b'] : ['inst-b', 'inst-a']
      const timing = await oneJob(url, from as string, to as string, names)
      timings.push(timing)
      line(`${label} job ${run + 1}`, timing)
    }
  } finally {
    await runner.close()
    await server.close()
  }
  return timings
}

/** The floor: the same device records read and rewritten bare, in pipelined batches of BATCH, no job logic. */
async function redisFloor (prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL)
  try {
    const keys = Array.from({ length: DEVICES }, (_, i) => `${prefix}floor:{${PK}/bench-${i}}`)
    const value = JSON.stringify(newDevice(PK, 'bench-000000', 'inst-a'))
    await redis.mset(...keys.flatMap(k => [k, value]))
    const t0 = performance.now()
    for (let i = 0; i < keys.length; i += BATCH) {
      const batch = keys.slice(i, i + BATCH)
      const values = await redis.mget(batch)
      const pipe = redis.pipeline()
      batch.forEach((k, j) => pipe.set(k, (values[j] ?? '').replace('inst-a', 'inst-b')))
      await pipe.exec()
    }
    return performance.now() - t0
  } finally {
    redis.disconnect()
  }
}

function line (label: string, t: Timing): void {
  const rate = Math.round(DEVICES / (t.distributed / 1000))
  process.stdout.write(`  ${label.padEnd(16)} 202 after ${t.accepted.toFixed(0).padStart(5)} ms   distributed after ${t.distributed.toFixed(0).padStart(6)} ms   ${rate} devices/s\n`)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

process.stdout.write(`distribution job, ${DEVICES} offline devices, batch ${BATCH}, ${RUNS} runs per store\n`)
const summary: string[] = []
if (args.store === 'redis' || args.store === 'both') {
  const prefix = `homing-bench:jobs:${process.pid}:${randomBytes(4).toString('hex')}:`
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
  try {
    const timings = await benchStore('redis', store)
    const floor = await redisFloor(prefix)
    process.stdout.write(`  ${'redis floor'.padEnd(16)} MGET + pipelined SET of every device record: ${floor.toFixed(0)} ms\n`)
    summary.push(`redis:  median ${median(timings.map(t => t.distributed)).toFixed(0)} ms from POST to distributed (floor of the bare registry work: ${floor.toFixed(0)} ms)`)
  } finally {
    await store.close()
    await dropPrefix(prefix, REDIS_URL)
  }
}
if (args.store === 'memory' || args.store === 'both') {
  const timings = await benchStore('memory', new MemoryStore())
  summary.push(`memory: median ${median(timings.map(t => t.distributed)).toFixed(0)} ms from POST to distributed`)
}
process.stdout.write(`${summary.join('\n')}\n`)
