// A Redis Cluster of our own, for the tests and the registry benchmark: three masters from
// `redis-server` on free ports (with `replicas: 1`, a replica each), joined by
// `redis-cli --cluster create`, torn down (processes and files) by `remove`.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './free-port.js'

const run = promisify(execFile)

export interface OwnCluster {
  ports: number[]
  /** Startup nodes as redis:// URLs, the `redis.cluster` config form. */
  urls: string[]
  remove: () => Promise<void>
  /** The port of the master serving `key` now (CLUSTER KEYSLOT, then CLUSTER SHARDS as a live node sees them). */
  masterOf: (key: string) => Promise<number>
  /** SIGKILL of the node on `port`, resolved once it exited. */
  kill: (port: number) => Promise<void>
  /** Resolves once every live node says cluster_state:ok and `port` is a master of none of them; fails after `ms`. */
  failedOver: (port: number, ms?: number) => Promise<void>
}

export interface ClusterOptions {
  masters?: number
  /** Replicas per master (`--cluster-replicas`). */
  replicas?: number
  /** `cluster-node-timeout`: how long a silent master stays up in its peers' eyes; a failover follows. */
  nodeTimeoutMs?: number
}

async function cli (port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 10_000 })
  return stdout
}

async function until (what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`redis cluster: ${what} within ${ms} ms`)
}

interface Node { port: number, master: boolean, failed: boolean }

/** CLUSTER NODES lines as `port` sees them. */
async function nodesSeenBy (port: number): Promise<Node[]> {
  return (await cli(port, 'cluster', 'nodes')).trim().split('\n').map(line => {
    const [, address = '', flags = ''] = line.split(' ')
    return { port: Number(address.split('@')[0]?.split(':')[1]), master: flags.split(',').includes('master'), failed: /fail/.test(flags) }
  })
}

export async function ownCluster (options: ClusterOptions | number = {}): Promise<OwnCluster> {
  const { masters = 3, replicas = 0, nodeTimeoutMs = 15_000 } = typeof options === 'number' ? { masters: options } : options
  const dir = mkdtempSync(join(tmpdir(), 'homing-cluster-'))
  const ports: number[] = []
  const children: ChildProcess[] = []
  const byPort = new Map<number, ChildProcess>()
  const remove = async (): Promise<void> => {
    await Promise.all(children.map(async child => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      // The cluster bus listens on port + 10000: it must be a valid port too.
      let port = await freePort()
      while (port > 55_535 || ports.includes(port)) port = await freePort()
      ports.push(port)
      const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', String(nodeTimeoutMs),
        // A replica syncs at once, not after the default 5 s wait for more replicas to join the transfer.
        '--repl-diskless-sync-delay', '0', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
      { stdio: 'ignore' })
      children.push(child)
      byPort.set(port, child)
    }
    for (const port of ports) await until(`node ${port} did not answer`, async () => (await cli(port, 'ping')).trim() === 'PONG')
    await run('redis-cli', ['--cluster', 'create', ...ports.map(p => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 30_000 })
    for (const port of ports) {
      await until(`node ${port} did not reach cluster_state:ok`, async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'))
    }
    // Every replica known as one by every node (else a failover may not find it).
    await until(`the ${masters * replicas} replicas did not join`, async () => {
      const seen = await Promise.all(ports.map(nodesSeenBy))
      return seen.every(nodes => nodes.filter(n => !n.master).length === masters * replicas)
    })
    // ... and holding its master's data: a replica that never synced does not take over.
    await until('a replica did not sync with its master', async () => {
      for (const port of ports) {
        const info = await cli(port, 'info', 'replication')
        if (info.includes('role:slave') && !info.includes('master_link_status:up')) return false
      }
      return true
    })
  } catch (err) {
    await remove()
    throw err
  }
  const alive = (): number[] => ports.filter(p => { const c = byPort.get(p); return c !== undefined && c.exitCode === null && c.signalCode === null })
  const masterOf = async (key: string): Promise<number> => {
    const port = alive()[0] ?? ports[0] as number
    const slot = Number((await cli(port, 'cluster', 'keyslot', key)).trim())
    for (const line of (await cli(port, 'cluster', 'nodes')).trim().split('\n')) {
      const [, address = '', flags = '', , , , , , ...ranges] = line.split(' ')
      if (!flags.split(',').includes('master')) continue
      for (const range of ranges) {
        const [from, to = from] = range.split('-').map(Number)
        if (from !== undefined && to !== undefined && slot >= from && slot <= to) return Number(address.split('@')[0]?.split(':')[1])
      }
    }
    throw new Error(`redis cluster: no master serves slot ${slot}`)
  }
  const kill = async (port: number): Promise<void> => {
    const child = byPort.get(port)
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }
  const failedOver = async (port: number, ms = 20_000): Promise<void> => {
    await until(`no failover of the master on ${port}`, async () => {
      for (const p of alive()) {
        if (!(await cli(p, 'cluster', 'info')).includes('cluster_state:ok')) return false
        if ((await nodesSeenBy(p)).some(n => n.port === port && n.master && !n.failed)) return false
      }
      return true
    }, ms)
  }
  return { ports, urls: ports.map(p => `redis://127.0.0.1:${p}`), remove, masterOf, kill, failedOver }
}
