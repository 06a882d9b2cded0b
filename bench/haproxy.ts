// HAProxy in front of the sidecar for the bootstrap bench, configured as docs/operations.md,
// "Behind a load balancer" says: HTTP mode, backend connections kept open and shared between
// clients (`http-reuse always`), header names sent in the case the Link SDK reads. Its CPU time is
// read from /proc, as HAProxy has no IPC channel to the bench.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { sleep } from './scenario.js'

export interface RunningHaproxy {
  /** Where clients connect. */
  port: number
  pid: number
  /** CPU time used so far, user + system (µs). */
  cpuUs: () => number
  /** Requests sent to the sidecar so far on a new backend connection, and on one kept open. */
  backendConnections: () => Promise<{ connect: number, reuse: number }>
  stop: () => Promise<void>
}

/** The haproxy binary on the PATH, or null when it is not installed. */
export function haproxyBinary (): string | null {
  const found = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' })
  const path = found.stdout.trim()
  return found.status === 0 && path !== '' ? path : null
}

/** docs/operations.md, "Behind a load balancer": the example configuration, on one thread. */
export function haproxyConfig (frontPort: number, backend: { host: string, port: number }, statsSocket?: string): string {
  return `global
  nbthread 1
  maxconn 4000
${statsSocket === undefined ? '' : `  stats socket ${statsSocket}\n`}  # docs/protocol.md, "Bootstrap": the Link SDK reads "Content-Length: " case-sensitively; HAProxy writes lower case.
  h1-case-adjust content-length Content-Length
  h1-case-adjust content-type Content-Type
  h1-case-adjust connection Connection
  h1-case-adjust date Date

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout http-request 10s
  timeout http-keep-alive 2s

frontend bootstrap
  bind 127.0.0.1:${frontPort}
  option h1-case-adjust-bogus-client
  option forwardfor
  default_backend sidecars

backend sidecars
  http-reuse always
  # The sidecar's Keep-Alive header speaks of this connection, not of the device's.
  http-response del-header keep-alive
  # A request sent on a connection the sidecar closed at that moment (idle, or its maxRequests) is sent again.
  retry-on conn-failure empty-response
  server sidecar1 ${backend.host}:${backend.port}
`
}

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

async function accepting (port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${output()}`)
    const open = await new Promise<boolean>(resolve => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (open) return
    await sleep(50)
  }
  throw new Error(`haproxy does not accept on ${port}: ${output()}`)
}

/** `show stat` on HAProxy's stats socket: CSV, one row per frontend, backend and server. */
function statsOf (socketPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write('show stat\n'))
    let text = ''
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('utf8') })
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
  })
}

/** Starts `binary` in the foreground (-db) with the configuration above, written into `dir`. */
export async function startHaproxy (binary: string, dir: string, backend: { host: string, port: number }): Promise<RunningHaproxy> {
  const port = await freePort()
  const file = join(dir, 'haproxy.cfg')
  const stats = join(dir, 'haproxy.sock')
  writeFileSync(file, haproxyConfig(port, backend, stats))
  const child = spawn(binary, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-4000) })
  await accepting(port, child, () => stderr)
  const pid = child.pid as number
  const tick = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
  return {
    port,
    pid,
    cpuUs: () => {
      // /proc/<pid>/stat: after the command in parentheses, utime and stime are fields 14 and 15.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      return (Number(fields[11]) + Number(fields[12])) * 1e6 / tick
    },
    backendConnections: async () => {
      const csv = await statsOf(stats)
      const [header = '', ...rows] = csv.split('\n')
      const names = header.replace(/^# /, '').split(',')
      const row = rows.find(r => r.startsWith('sidecars,sidecar1,'))?.split(',') ?? []
      const column = (name: string): number => Number(row[names.indexOf(name)] ?? NaN)
      return { connect: column('connect'), reuse: column('reuse') }
    },
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const force = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(force)
    }
  }
}
