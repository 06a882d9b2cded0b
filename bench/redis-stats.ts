// What a group of Redis servers (a Cluster's masters, or one server) did between two readings:
// memory, CPU and commands by name, from INFO summed over the servers.
import { Redis } from 'ioredis'

export interface RedisReading {
  /** Sum of `used_memory` (bytes). */
  usedMemory: number
  /** Sum of `used_cpu_sys + used_cpu_user` (seconds). */
  cpuS: number
  /** Calls by command name (`get`, `evalsha`, `cluster|slots`, ...). */
  calls: Record<string, number>
}

export interface RedisDelta {
  memory: number
  cpuUs: number
  calls: Record<string, number>
}

/** Our own readings, not the work measured. */
const OWN = new Set(['info'])

function field (info: string, name: string): number {
  const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)
  return m === null ? 0 : Number(m[1])
}

/** `cmdstat_get:calls=12,usec=...` lines -> { get: 12 }. */
export function parseCommandStats (info: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1] as string] = Number(m[2])
  return out
}

export class RedisGroup {
  private readonly clients: Redis[]

  constructor (readonly ports: number[]) {
    this.clients = ports.map(port => new Redis({ host: '127.0.0.1', port, lazyConnect: false, maxRetriesPerRequest: 2 }))
  }

  async read (): Promise<RedisReading> {
    const infos = await Promise.all(this.clients.map(c => c.info('all')))
    const calls: Record<string, number> = {}
    for (const info of infos) {
      for (const [name, n] of Object.entries(parseCommandStats(info))) calls[name] = (calls[name] ?? 0) + n
    }
    return {
      usedMemory: infos.reduce((s, i) => s + field(i, 'used_memory'), 0),
      cpuS: infos.reduce((s, i) => s + field(i, 'used_cpu_sys') + field(i, 'used_cpu_user'), 0),
      calls
    }
  }

  close (): void {
    for (const c of this.clients) c.disconnect()
  }
}

export function delta (before: RedisReading, after: RedisReading): RedisDelta {
  const calls: Record<string, number> = {}
  for (const [name, n] of Object.entries(after.calls)) {
    const d = n - (before.calls[name] ?? 0)
    if (d > 0 && !OWN.has(name)) calls[name] = d
  }
  return { memory: after.usedMemory - before.usedMemory, cpuUs: (after.cpuS - before.cpuS) * 1e6, calls }
}

/** Commands per operation, most first: `evalsha 2.00, get 1.00` (names as Redis counts them). */
export function perOperation (calls: Record<string, number>, operations: number): string {
  if (operations <= 0) return '-'
  const rows = Object.entries(calls).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${(n / operations).toFixed(2)}`)
  return rows.length === 0 ? 'none' : rows.join(', ')
}

export const totalCalls = (calls: Record<string, number>): number => Object.values(calls).reduce((s, n) => s + n, 0)
