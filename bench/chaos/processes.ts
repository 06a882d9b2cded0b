// The chaos run's processes: a redis-server of its own (append-only file on, in a temp dir, on a
// free port) and real `homing bootstrap` / `homing broker` processes that can be SIGKILLed and
// started again with the same arguments.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

const BIN = fileURLToPath(new URL('../../bin/homing.js', import.meta.url))

export async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

async function accepting (port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

async function stopChild (child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill(signal)
  await exited
}

export class OwnRedis {
  private child: ChildProcess | null = null
  constructor (readonly port: number, readonly dir: string) {}

  get url (): string { return `redis://127.0.0.1:${this.port}/0` }

  /** Starts redis-server (again, on the same port and files) and resolves once it accepts connections. */
  async start (): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes',
      '--appendfsync', 'always', '--dir', this.dir, '--logfile', ''], { stdio: 'ignore' })
    for (let i = 0; i < 400; i++) {
      if (await accepting(this.port)) return
      await new Promise(resolve => setTimeout(resolve, 25))
    }
    throw new Error(`redis-server did not accept connections on ${this.port} within 10 s`)
  }

  /** SIGKILL: what the append-only file holds is what comes back. */
  async kill (): Promise<void> { await stopChild(this.child, 'SIGKILL') }
  async stop (): Promise<void> { await stopChild(this.child, 'SIGTERM') }
}

/** A `homing` command as an operator runs it; `start()` again after `kill()` runs the same command. */
export class HomingProcess {
  private child: ChildProcess | null = null
  private output = ''
  restarts = 0

  constructor (readonly name: string, readonly args: string[]) {}

  /** Starts it and resolves once it logged "listening" (rejects if it exits first or after 30 s). */
  async start (): Promise<void> {
    const { REDIS_URL: _r, KEY_PREFIX: _k, MQTT_PORT: _m, HOMING_CONFIG: _c, NODE_ID: _n, ...env } = process.env
    const child = spawn(process.execPath, [BIN, ...this.args], { env: { ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.stderr?.on('data', (chunk: Buffer) => { this.output = (this.output + chunk.toString()).slice(-4000) })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not log "listening" within 30 s:\n${this.output}`)), 30_000)
      createInterface({ input: child.stdout! }).on('line', line => {
        this.output = (this.output + line + '\n').slice(-4000)
        if (line.includes('"msg":"listening"')) { clearTimeout(timer); resolve() }
      })
      child.once('exit', code => { clearTimeout(timer); reject(new Error(`${this.name} exited (${String(code)}) before listening:\n${this.output}`)) })
    })
  }

  running (): boolean { return this.child !== null && this.child.exitCode === null && this.child.signalCode === null }

  /** Exited on its own (not by our kill)? Then the last lines it printed. */
  crashed (): string | null {
    const c = this.child
    return c !== null && c.exitCode !== null ? `${this.name} exited with ${c.exitCode}:\n${this.output}` : null
  }

  async kill (): Promise<void> {
    await stopChild(this.child, 'SIGKILL')
    this.child = null
  }

  async restart (): Promise<void> {
    await this.kill()
    this.restarts++
    await this.start()
  }

  async stop (): Promise<void> {
    await stopChild(this.child, 'SIGTERM')
    this.child = null
  }
}
