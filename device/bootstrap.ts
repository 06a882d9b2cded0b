// docs/protocol.md, "Bootstrap" and 5: one bootstrap exchange as a device makes it: a fresh TCP (or TLS) connection,
// the SDK's request bytes, one response read, the socket closed.
import net from 'node:net'
import tls from 'node:tls'
import { bootstrapRequest, parseEndpoint, parseErrorBody, readResponse, retryAfterMs, type BootstrapQuery, type Endpoint } from './bootstrap-wire.js'

export type { BootstrapQuery, Endpoint } from './bootstrap-wire.js'

export interface BootstrapOptions {
  /** `http://host:port` or `https://host:port`; a path other than `/` replaces `/auth/bootstrap`. */
  url: string
  timeoutMs?: number
  /** Source address of the socket (load tests spread devices over 127.0.0.x). */
  localAddress?: string
  /** TLS: CA to trust and whether to check the certificate (default true). */
  ca?: string | Buffer
  rejectUnauthorized?: boolean
  /** Aborting closes the socket and rejects with a BootstrapError. */
  signal?: AbortSignal
}

/** A bootstrap that did not give an endpoint. `status` is null when no HTTP answer came. */
export class BootstrapError extends Error {
  constructor (
    message: string,
    readonly status: number | null,
    /** From `Retry-After` (429, 503), in ms. */
    readonly retryAfterMs: number | null = null,
    readonly code: number | null = null,
    options?: ErrorOptions
  ) {
    super(message, options)
    this.name = 'BootstrapError'
  }

  /** 429 and 503 ask the device to come back later; 404 means this device has no home. */
  get retryable (): boolean {
    return this.status === null || this.status === 429 || this.status >= 500
  }
}

interface Target {
  host: string
  port: number
  secure: boolean
  path: string
}

function target (url: string): Target {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new TypeError(`bootstrap url "${url}" is not a URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`bootstrap url "${url}": http: or https: only`)
  const secure = u.protocol === 'https:'
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? (secure ? 443 : 80) : Number(u.port),
    secure,
    path: u.pathname === '/' ? '/auth/bootstrap' : u.pathname
  }
}

function open (t: Target, opts: BootstrapOptions): net.Socket {
  const base = { host: t.host, port: t.port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) }
  if (!t.secure) return net.connect(base)
  return tls.connect({
    ...base,
    ...(net.isIP(t.host) === 0 ? { servername: t.host } : {}),
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
    rejectUnauthorized: opts.rejectUnauthorized ?? true
  })
}

/** Sends the request and resolves with the raw response (any status). */
export function exchange (query: BootstrapQuery, opts: BootstrapOptions): Promise<{ status: number, headers: Map<string, string>, body: string }> {
  const t = target(opts.url)
  const request = bootstrapRequest(t.host, query, t.path)
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted === true) {
      reject(new BootstrapError('bootstrap aborted', null))
      return
    }
    const socket = open(t, opts)
    const onAbort = (): void => finish(new BootstrapError('bootstrap aborted', null))
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    let received: Buffer = Buffer.alloc(0)
    let settled = false
    const finish = (err: Error | null, value?: ReturnType<typeof readResponse>): void => {
      if (settled) return
      settled = true
      opts.signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      if (err !== null) reject(err)
      else if (value) resolve(value)
    }
    socket.setNoDelay(true)
    socket.setTimeout(opts.timeoutMs ?? 10_000, () => finish(new BootstrapError('bootstrap timed out', null)))
    socket.once(t.secure ? 'secureConnect' : 'connect', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
      try {
        const response = readResponse(received)
        if (response !== null) finish(null, response)
      } catch (err) {
        finish(new BootstrapError((err as Error).message, null, null, null, { cause: err }))
      }
    })
    // After the answer, destroy() closes the socket too: no error (and its stack trace) is built for that.
    socket.on('error', err => { if (!settled) finish(new BootstrapError(`bootstrap unreachable: ${err.message}`, null, null, null, { cause: err })) })
    socket.on('close', () => { if (!settled) finish(new BootstrapError('bootstrap closed the connection before answering', null)) })
  })
}

/** docs/protocol.md, "Bootstrap": one exchange; the mqtt endpoint on 200, a BootstrapError otherwise. */
export async function bootstrap (query: BootstrapQuery, opts: BootstrapOptions): Promise<Endpoint> {
  const response = await exchange(query, opts)
  if (response.status !== 200) {
    const { code, message } = parseErrorBody(response.body)
    throw new BootstrapError(
      `bootstrap answered ${response.status}${message !== undefined ? `: ${message}` : ''}`,
      response.status,
      retryAfterMs(response.headers.get('retry-after')),
      code ?? null
    )
  }
  try {
    return parseEndpoint(response.body)
  } catch (err) {
    throw new BootstrapError((err as Error).message, 200, null, null, { cause: err })
  }
}
