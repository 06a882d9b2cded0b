// A Redis server of the benchmark's own (never the machine's 6379): `redis-server` on a free port, no
// persistence, its files in a temp dir removed by `remove`.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'

export interface PlainRedis {
  port: number
  url: string
  remove: () => Promise<void>
}

function accepting (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

export async function plainRedis (): Promise<PlainRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'homing-bench-redis-'))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''], { stdio: 'ignore' })
  const remove = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 400; i++) {
    if (await accepting(port)) return { port, url: `redis://127.0.0.1:${port}/0`, remove }
    await new Promise(resolve => setTimeout(resolve, 25))
  }
  await remove()
  throw new Error(`redis-server did not start on ${port}`)
}
