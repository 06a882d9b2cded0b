// The bootstrap load: the Link SDK's request bytes over raw sockets, `concurrency` loops for a fixed
// time. `new-connection` opens a socket per request and closes it after the answer, as devices do;
// `keep-alive` sends the requests of a loop one after another on one socket.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import * as hdr from 'hdr-histogram-js'
import { bootstrapRequest, readResponse, type BootstrapQuery } from '../../device/bootstrap-wire.js'

export type HttpMode = 'new-connection' | 'keep-alive'

export interface HttpFloodOptions {
  host?: string
  port: number
  mode: HttpMode
  concurrency: number
  durationMs: number
  /** Requests are drawn from these in turn (different devices, so caches see a realistic spread). */
  queries: BootstrapQuery[]
  sources?: string[]
}

export interface HttpFloodResult {
  requests: number
  /** HTTP status -> count. */
  statuses: Record<string, number>
  /** Socket errors and bad answers by code. */
  errors: Record<string, number>
  elapsedMs: number
  /** Completed requests per second (any status). */
  rate: number
  /** Answers that came with `Connection: close` (keep-alive then needs a new connection). */
  serverClosed: number
  /** Request written -> answer read (new-connection: from connect()), µs, HDR compressed base64. */
  latency: string
}

const bump = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1 }

/** One request on `socket` (already connected or connecting); resolves with the status and whether the server closes. */
function request (socket: net.Socket, bytes: Buffer): Promise<{ status: number, close: boolean }> {
  return new Promise((resolve, reject) => {
    let data: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer): void => {
      data = data.length === 0 ? chunk : Buffer.concat([data, chunk])
      try {
        const r = readResponse(data)
        if (r === null) return
        cleanup()
        resolve({ status: r.status, close: r.headers.get('connection')?.toLowerCase() === 'close' })
      } catch (err) {
        cleanup()
        reject(err)
      }
    }
    const onError = (err: Error): void => { cleanup(); reject(err) }
    const onClose = (): void => { cleanup(); reject(Object.assign(new Error('closed'), { code: 'closed before answer' })) }
    const cleanup = (): void => {
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
    socket.write(bytes)
  })
}

export async function httpFlood (o: HttpFloodOptions): Promise<HttpFloodResult> {
  const host = o.host ?? '127.0.0.1'
  const requests = o.queries.map(q => bootstrapRequest(host, q))
  const histogram = hdr.build({ numberOfSignificantValueDigits: 3, autoResize: true })
  const result: HttpFloodResult = { requests: 0, statuses: {}, errors: {}, elapsedMs: 0, rate: 0, latency: '', serverClosed: 0 }
  const sources = o.sources ?? []
  const start = performance.now()
  const deadline = start + o.durationMs
  let n = 0
  const open = (i: number): net.Socket => {
    const s = net.connect({ host, port: o.port, ...(sources.length > 0 ? { localAddress: sources[i % sources.length] } : {}) })
    s.setNoDelay(true)
    return s
  }
  const loop = async (slot: number): Promise<void> => {
    let socket: net.Socket | null = null
    while (performance.now() < deadline) {
      const bytes = requests[n++ % requests.length] as Buffer
      const t0 = performance.now()
      try {
        if (socket !== null && (socket.destroyed || !socket.writable)) socket = null
        socket ??= open(slot + n)
        const { status, close } = await request(socket, bytes)
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)))
        result.requests++
        bump(result.statuses, String(status))
        if (close) result.serverClosed++
        if (o.mode === 'new-connection' || close) {
          // docs/protocol.md, "Bootstrap": the SDK reads one response and closes the socket.
          socket.destroy()
          socket = null
        }
      } catch (err) {
        bump(result.errors, (err as NodeJS.ErrnoException).code ?? (err as Error).message)
        socket?.destroy()
        socket = null
      }
    }
    socket?.destroy()
  }
  await Promise.all(Array.from({ length: o.concurrency }, (_, i) => loop(i)))
  result.elapsedMs = performance.now() - start
  result.rate = result.requests / (result.elapsedMs / 1000)
  result.latency = hdr.encodeIntoCompressedBase64(histogram)
  return result
}
