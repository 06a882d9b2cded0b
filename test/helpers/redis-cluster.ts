// A Redis Cluster of the test's own: three masters from `redis-server` on free ports, joined by
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

export async function ownCluster (masters = 3): Promise<OwnCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'homing-cluster-'))
  const ports: number[] = []
  const children: ChildProcess[] = []
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
    for (let i = 0; i < masters; i++) {
      // The cluster bus listens on port + 10000: it must be a valid port too.
      let port = await freePort()
      while (port > 55_535 || ports.includes(port)) port = await freePort()
      ports.push(port)
      children.push(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
        '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
      { stdio: 'ignore' }))
    }
    for (const port of ports) await until(`node ${port} did not answer`, async () => (await cli(port, 'ping')).trim() === 'PONG')
    await run('redis-cli', ['--cluster', 'create', ...ports.map(p => `127.0.0.1:${p}`), '--cluster-yes'], { timeout: 30_000 })
    for (const port of ports) {
      await until(`node ${port} did not reach cluster_state:ok`, async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'))
    }
  } catch (err) {
    await remove()
    throw err
  }
  return { ports, urls: ports.map(p => `redis://127.0.0.1:${p}`), remove }
}
