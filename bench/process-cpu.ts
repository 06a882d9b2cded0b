// CPU time per part of a deployment over a window: each part is a set of processes (a sidecar, a
// broker instance's nodes, the load generator's workers), read from /proc/<pid>/stat (Linux) at the
// start and the end, so a part's own figure does not depend on it reporting back. Redis is read
// from INFO cpu (the server's own counters).
import { Redis } from 'ioredis'
import { procUsage } from './servers/mosquitto.js'

export interface CpuPart {
  name: string
  pids: number[]
}

/** CPU (user + system) used in the window, µs, per part. */
export type CpuWindow = Record<string, number>

function cpuOf (pids: number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      total += procUsage(pid).cpuUs
    } catch {} // gone meanwhile: counted up to its last reading
  }
  return total
}

/** Redis's used_cpu_user + used_cpu_sys, µs. */
async function redisCpu (url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    const info = await redis.info('cpu')
    const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0)
    return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1_000_000)
  } finally {
    redis.disconnect()
  }
}

/** Starts a window now; `end()` gives each part's CPU since, Redis's under `redis` when a URL is given. */
export async function cpuWindow (parts: CpuPart[], redisUrl?: string): Promise<{ end: () => Promise<CpuWindow> }> {
  const start = new Map(parts.map(p => [p.name, cpuOf(p.pids)]))
  const redisStart = redisUrl !== undefined ? await redisCpu(redisUrl) : 0
  return {
    end: async () => {
      const out: CpuWindow = {}
      for (const p of parts) out[p.name] = cpuOf(p.pids) - (start.get(p.name) ?? 0)
      if (redisUrl !== undefined) out.redis = await redisCpu(redisUrl) - redisStart
      return out
    }
  }
}
