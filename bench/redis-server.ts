// A Redis server of our own (never the machine's shared 6379): `redis-server` as a child process on a
// free port, its files in a temp dir. The tests stop and start it again on the same port, with the
// append-only file on so that it comes back with its data as a restarted production Redis does; the
// benchmarks want a plain one without persistence (`plainRedis`).
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.js'

export interface OwnRedis {
  port: number
  url: string
  /** Starts it (again, on the same port) and resolves once it accepts connections. */
  start: () => Promise<void>
  /** SIGTERM, and resolves once the process is gone (the port refuses connections). */
  stop: () => Promise<void>
  /** SIGSTOP / SIGCONT: a Redis that hangs without closing its connections. */
  pause: () => void
  resume: () => void
  /** Stops it and removes its files. */
  remove: () => Promise<void>
}

export type PlainRedis = Pick<OwnRedis, 'port' | 'url' | 'remove'>

async function accepting (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

/** Not started yet: call `start`. `appendOnly` (default true) keeps its data across stop and start. */
export async function ownRedis (options: { appendOnly?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'homing-redis-'))
  const persistence = options.appendOnly === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always']
  let child: ChildProcess | null = null
  const stop = async (): Promise<void> => {
    const running = child
    child = null
    if (running === null || running.exitCode !== null) return
    running.kill('SIGCONT')
    running.kill('SIGTERM')
    await once(running, 'exit')
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    start: async () => {
      if (child !== null) return
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--logfile', ''], { stdio: 'ignore' })
      for (let i = 0; i < 400; i++) {
        if (await accepting(port)) return
        await new Promise(resolve => setTimeout(resolve, 25))
      }
      throw new Error(`redis-server did not start on ${port}`)
    },
    stop,
    pause: () => { child?.kill('SIGSTOP') },
    resume: () => { child?.kill('SIGCONT') },
    remove: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A started Redis without persistence, for a benchmark's own counts. */
export async function plainRedis (): Promise<PlainRedis> {
  const redis = await ownRedis({ appendOnly: false })
  try {
    await redis.start()
  } catch (err) {
    await redis.remove()
    throw err
  }
  return { port: redis.port, url: redis.url, remove: redis.remove }
}
