// A Redis of the test's own, as a child process on a free port, that can be stopped and started again
// on the same port (the machine's Redis on 6379 is shared and never touched). The append-only file
// is on, in a temp dir, so the registry comes back with its data as a restarted production Redis does.
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

async function accepting (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

export async function ownRedis (): Promise<OwnRedis> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'homing-redis-'))
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
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
        '--appendfsync', 'always', '--dir', dir, '--logfile', ''], { stdio: 'ignore' })
      for (let i = 0; i < 200; i++) {
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
