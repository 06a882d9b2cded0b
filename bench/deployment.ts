// A throwaway Homing deployment for one benchmark: a config over the machine's Redis under a key
// prefix of its own, devices written straight into the registry, and the servers under test in
// their own processes. Everything is removed by close().
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig, type Config } from '../shared/config.js'
import { newDevice } from '../shared/device.js'
import { openRedisStore } from '../shared/store/redis.js'
import type { Store } from '../shared/store/store.js'
import type { Certificate, Product } from '../shared/types.js'
import { endChild, forkTs, nextMessage } from './child-process.js'
import { dropPrefix } from './redis-prefix.js'
import type { ServerMessage } from './servers/serve.js'

export const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'
export const TOKEN = 'bench-token-0123456789abcdef'

export interface InstanceSpec {
  id: string
  region?: string
  /** Port bootstrap hands out (a broker cluster's shared port); 1 until known. */
  endpointPort?: number
}

export function benchConfig (keyPrefix: string, instances: InstanceSpec[]): Config {
  return parseConfig({
    redis: REDIS_URL,
    keyPrefix,
    bootstrap: { host: '127.0.0.1', port: 0, jobPollMs: 100 },
    broker: { notifyTimeoutMs: 2000 },
    regions: [{ id: 'r1', name: 'Bench One', lat: 31.23, lon: 121.47 }, { id: 'r2', name: 'Bench Two', lat: 50.11, lon: 8.68 }],
    accounts: [{ id: 'bench', name: 'Bench', token: TOKEN }],
    instances: instances.map(i => ({
      id: i.id,
      region: i.region ?? 'r1',
      account: 'bench',
      endpoint: { host: '127.0.0.1', port: i.endpointPort ?? 1 },
      listen: { host: '127.0.0.1', mqtt: 0 }
    }))
  })
}

export interface Usage {
  rss: number
  cpuUs: number
}

export interface RunningServer {
  child: ChildProcess
  ports: Record<string, number>
  pid: number
  /** RSS after a full GC (bytes; the child runs with --expose-gc) and CPU used so far (µs). */
  measure: () => Promise<Usage>
  stop: () => Promise<void>
}

/** Forks a server script of bench/servers and waits for its "ready". */
export async function startServer (script: string, args: string[] = [], nodeArgs: string[] = []): Promise<RunningServer> {
  const child = forkTs(new URL(`./servers/${script}`, import.meta.url), { args, nodeArgs: ['--expose-gc', ...nodeArgs] })
  const ready = await nextMessage<Extract<ServerMessage, { type: 'ready' }>>(child, 'ready', 120_000)
  return {
    child,
    ports: ready.ports,
    pid: ready.pid,
    measure: async () => {
      const answer = nextMessage<Extract<ServerMessage, { type: 'measured' }>>(child, 'measured', 60_000)
      child.send({ type: 'measure' })
      const m = await answer
      return { rss: m.rss, cpuUs: m.cpuUs }
    },
    stop: () => endChild(child, 30_000)
  }
}

export class Deployment {
  readonly keyPrefix = `homing-bench:${process.pid}:${randomBytes(3).toString('hex')}:`
  readonly dir = mkdtempSync(join(tmpdir(), 'homing-bench-'))
  private readonly servers: RunningServer[] = []
  store!: Store
  config: Config

  constructor (readonly instances: InstanceSpec[]) {
    this.config = benchConfig(this.keyPrefix, instances)
  }

  async open (): Promise<this> {
    this.store = await openRedisStore({ url: REDIS_URL, keyPrefix: this.keyPrefix, commandTimeoutMs: 30_000 })
    return this
  }

  /** Writes the config (with the endpoints known so far) and returns its path. */
  writeConfig (): string {
    this.config = benchConfig(this.keyPrefix, this.instances)
    const file = join(this.dir, 'config.json')
    writeFileSync(file, JSON.stringify({ ...this.config }, null, 2))
    return file
  }

  async createProduct (productKey: string, instanceId: string): Promise<void> {
    const now = Date.now()
    const product: Product = { productKey, instanceId, name: productKey, topicCategories: [], tsl: null, parsingScript: null, readOnly: false, sourceInstanceId: null, createdAt: now, updatedAt: now }
    await this.store.createProduct(product)
  }

  /** `count` devices named `<prefix>-<n>` at `instanceId`, written in batches. */
  async createDevices (productKey: string, instanceId: string, count: number, prefix = 'dev'): Promise<Certificate[]> {
    const out: Certificate[] = []
    for (let start = 0; start < count; start += 5000) {
      const devices = Array.from({ length: Math.min(5000, count - start) }, (_, i) => newDevice(productKey, `${prefix}-${String(start + i).padStart(6, '0')}`, instanceId))
      const taken = await this.store.createDevices(devices)
      if (taken.length > 0) throw new Error(`bench: device names taken: ${taken.slice(0, 3).join(', ')}...`)
      out.push(...devices.map(d => ({ productKey: d.productKey, deviceName: d.deviceName, deviceSecret: d.deviceSecret })))
    }
    return out
  }

  async start (script: string, args: string[] = [], nodeArgs: string[] = []): Promise<RunningServer> {
    const server = await startServer(script, args, nodeArgs)
    this.servers.push(server)
    return server
  }

  async close (): Promise<void> {
    await Promise.all(this.servers.map(s => s.stop()))
    await this.store?.close()
    await dropPrefix(this.keyPrefix, REDIS_URL)
    rmSync(this.dir, { recursive: true, force: true })
  }
}
