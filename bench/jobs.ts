// Distribution job throughput, registry work only (every device offline, so no broker is involved):
// POST /api/v1/distribution/jobs with N devices -> 202 -> `distributed`, through a real sidecar and
// its job runner (bench/job-timing.ts), beside the floor of the same registry work done bare in the
// same run.
//
//   node --import tsx bench/jobs.ts [--devices 10000] [--runs 3] [--store redis|memory|cluster|both|all] [--batch 1000]
//   (redis: REDIS_URL, default redis://127.0.0.1:6379/0, keys under a prefix of the run's own, removed
//   after; cluster: a Redis Cluster of three masters the bench starts from redis-server on free ports;
//   both: redis and memory; all: redis, cluster and memory)
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import { newDevice } from '../shared/device.js'
import { MemoryStore } from '../shared/store/memory.js'
import { openRedisStore } from '../shared/store/redis.js'
import type { Store } from '../shared/store/store.js'
import { JOBS_PK, median, timeJobs, type JobTiming } from './job-timing.js'
import { ownCluster } from './redis-cluster.js'
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
const stores = { redis: ['redis'], memory: ['memory'], cluster: ['cluster'], both: ['redis', 'memory'], all: ['redis', 'cluster', 'memory'] }[args.store ?? 'both']
if (stores === undefined) throw new Error(`--store: redis, memory, cluster, both or all, not "${args.store ?? ''}"`)

function line (label: string, t: JobTiming): void {
  const rate = Math.round(DEVICES / (t.distributed / 1000))
  process.stdout.write(`  ${label.padEnd(16)} 202 after ${t.accepted.toFixed(0).padStart(5)} ms   distributed after ${t.distributed.toFixed(0).padStart(6)} ms   ${rate} devices/s\n`)
}

async function benchStore (label: string, store: Store): Promise<JobTiming[]> {
  return timeJobs(store, { devices: DEVICES, runs: RUNS, batch: BATCH, onRun: (run, t) => line(`${label} job ${run + 1}`, t) })
}

/** The floor: the same device records read and rewritten bare, in pipelined batches of BATCH, no job logic. */
async function redisFloor (prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL)
  try {
    const keys = Array.from({ length: DEVICES }, (_, i) => `${prefix}floor:{${JOBS_PK}/bench-${i}}`)
    const value = JSON.stringify(newDevice(JOBS_PK, 'bench-000000', 'inst-a'))
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

process.stdout.write(`distribution job, ${DEVICES} offline devices, batch ${BATCH}, ${RUNS} runs per store\n`)
const summary: string[] = []
if (stores.includes('redis')) {
  const prefix = `homing-bench:jobs:${process.pid}:${randomBytes(4).toString('hex')}:`
  const store = await openRedisStore({ url: REDIS_URL, keyPrefix: prefix })
  try {
    const timings = await benchStore('redis', store)
    const floor = await redisFloor(prefix)
    process.stdout.write(`  ${'redis floor'.padEnd(16)} MGET + pipelined SET of every device record: ${floor.toFixed(0)} ms\n`)
    summary.push(`redis:   median ${median(timings.map(t => t.distributed)).toFixed(0)} ms from POST to distributed (floor of the bare registry work: ${floor.toFixed(0)} ms)`)
  } finally {
    await store.close()
    await dropPrefix(prefix, REDIS_URL)
  }
}
if (stores.includes('cluster')) {
  const cluster = await ownCluster(3)
  try {
    const store = await openRedisStore({ redis: { cluster: cluster.urls }, keyPrefix: 'homing-bench:jobs:' })
    try {
      const timings = await benchStore('cluster', store)
      summary.push(`cluster: median ${median(timings.map(t => t.distributed)).toFixed(0)} ms from POST to distributed (Redis Cluster of 3 masters, ports ${cluster.ports.join(', ')})`)
    } finally {
      await store.close()
    }
  } finally {
    await cluster.remove()
  }
}
if (stores.includes('memory')) {
  const timings = await benchStore('memory', new MemoryStore())
  summary.push(`memory:  median ${median(timings.map(t => t.distributed)).toFixed(0)} ms from POST to distributed`)
}
process.stdout.write(`${summary.join('\n')}\n`)
