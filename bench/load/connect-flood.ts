// The CONNECT-rate load: raw sockets, a pre-encoded MQTT 3.1.1 CONNECT each, CONNACK read from the
// first four bytes. Far cheaper than a full client per connection, so on a 2-core machine the
// broker, not the generator, is what is measured. Connections are held until close().
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import * as hdr from 'hdr-histogram-js'
import { generate } from 'mqtt-packet'
import type { Credentials } from '../../device/credentials.js'

export interface FloodOptions {
  host?: string
  port: number
  credentials: Credentials[]
  /** CONNECTs awaiting CONNACK at once. */
  inFlight: number
  sources?: string[]
  keepalive?: number
  timeoutMs?: number
}

export interface FloodResult {
  attempted: number
  accepted: number
  /** CONNACK return code -> count (non-zero only). */
  refused: Record<string, number>
  /** Socket errors and timeouts by code. */
  failed: Record<string, number>
  /** First connect() -> last answer. */
  elapsedMs: number
  /** Accepted CONNECTs per second over elapsedMs. */
  rate: number
  /** connect() -> CONNACK, µs, HDR compressed base64. */
  latency: string
  /** Accepted connections closed by the server while held. */
  closedByServer: number
  /** CPU (user + system) the generator process spent over elapsedMs, µs: whether it, not the server, was the limit. */
  generatorCpuUs: number
}

export function connectPacket (c: Credentials, keepalive: number): Buffer {
  return generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive, clientId: c.clientId, username: c.username, password: Buffer.from(c.password) })
}

const bump = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1 }

export class ConnectFlood {
  readonly sockets: net.Socket[] = []
  private closing = false
  private closedByServer = 0

  constructor (readonly o: FloodOptions) {}

  run (): Promise<FloodResult> {
    const o = this.o
    const packets = o.credentials.map(c => connectPacket(c, o.keepalive ?? 1200))
    const histogram = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true })
    const result: FloodResult = { attempted: 0, accepted: 0, refused: {}, failed: {}, elapsedMs: 0, rate: 0, latency: '', closedByServer: 0, generatorCpuUs: 0 }
    const sources = o.sources ?? []
    let next = 0
    let pending = 0
    const start = performance.now()
    const cpuAtStart = process.cpuUsage()
    let last = start
    return new Promise(resolve => {
      const finishOne = (): void => {
        pending--
        last = performance.now()
        if (next < packets.length) launch()
        else if (pending === 0) {
          result.elapsedMs = last - start
          result.rate = result.accepted / (result.elapsedMs / 1000)
          result.latency = hdr.encodeIntoCompressedBase64(histogram)
          const cpu = process.cpuUsage(cpuAtStart)
          result.generatorCpuUs = cpu.user + cpu.system
          resolve(result)
        }
      }
      const launch = (): void => {
        const i = next++
        pending++
        result.attempted++
        const t0 = performance.now()
        const socket = net.connect({ host: o.host ?? '127.0.0.1', port: o.port, ...(sources.length > 0 ? { localAddress: sources[i % sources.length] } : {}) })
        socket.setNoDelay(true)
        let answered = false
        let held = false
        let head = Buffer.alloc(0)
        const settle = (outcome: 'accepted' | 'refused' | 'failed', key = ''): void => {
          if (answered) return
          answered = true
          socket.setTimeout(0)
          if (outcome === 'accepted') {
            result.accepted++
            held = true
            histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
            this.sockets.push(socket)
          } else {
            bump(outcome === 'refused' ? result.refused : result.failed, key)
            socket.destroy()
          }
          finishOne()
        }
        socket.setTimeout(o.timeoutMs ?? 30_000, () => settle('failed', 'timeout'))
        socket.on('connect', () => socket.write(packets[i] as Buffer))
        socket.on('data', (chunk: Buffer) => {
          if (answered) return
          head = Buffer.concat([head, chunk])
          if (head.length < 4) return
          // CONNACK: 0x20, remaining length 2, flags, return code.
          if (head[0] !== 0x20) return settle('failed', 'not a CONNACK')
          const rc = head[3] as number
          if (rc === 0) settle('accepted')
          else settle('refused', String(rc))
        })
        socket.on('error', (err: NodeJS.ErrnoException) => settle('failed', err.code ?? err.message))
        socket.on('close', () => {
          if (!answered) settle('failed', 'closed before CONNACK')
          else if (held && !this.closing) this.closedByServer++
        })
      }
      if (packets.length === 0) {
        resolve(result)
        return
      }
      for (let k = 0; k < Math.min(o.inFlight, packets.length); k++) launch()
    })
  }

  /** Connections the server closed while they were held (after CONNACK 0). */
  get dropped (): number {
    return this.closedByServer
  }

  /** DISCONNECT and close every held connection. */
  async close (): Promise<void> {
    this.closing = true
    const disconnect = Buffer.from([0xe0, 0x00])
    await Promise.all(this.sockets.map(s => new Promise<void>(resolve => {
      if (s.destroyed) return resolve()
      s.once('close', () => resolve())
      s.end(disconnect)
      setTimeout(() => s.destroy(), 2000).unref()
    })))
    this.sockets.length = 0
  }
}
