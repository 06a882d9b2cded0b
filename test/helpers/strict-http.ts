// docs/protocol.md, "Bootstrap" from the device's side: the exact bytes the Link SDK for C sends, over a raw socket, and
// a reader that reports every point of the answer a real device would choke on.
import net from 'node:net'
import tls from 'node:tls'

export const SDK_ACCEPT = 'text/xml,text/javascript,text/html,application/json'
export const SDK_CONTENT_TYPE = 'application/x-www-form-urlencoded;charset=utf-8'

export interface RequestOptions {
  /** Host header value: the SDK sends the host without a port. */
  host?: string
  contentType?: string | null
  path?: string
  method?: string
  /** Content-Length to declare (default: the body's length). */
  contentLength?: number
}

/** docs/protocol.md, "Bootstrap": `Host` without a port, no `Connection` header, this header order. */
export function sdkRequest (body: string | Buffer, opts: RequestOptions = {}): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const lines = [
    `${opts.method ?? 'POST'} ${opts.path ?? '/auth/bootstrap'} HTTP/1.1`,
    `Host: ${opts.host ?? 'bootstrap.example.com'}`,
    `Accept: ${SDK_ACCEPT}`
  ]
  const contentType = opts.contentType === undefined ? SDK_CONTENT_TYPE : opts.contentType
  if (contentType !== null) lines.push(`Content-Type: ${contentType}`)
  lines.push(`Content-Length: ${opts.contentLength ?? bytes.length}`)
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), bytes])
}

/** The SDK's form body: its field order, values percent-encoded. */
export function sdkForm (fields: Record<string, string>): string {
  return Object.entries(fields).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')
}

export interface Exchange {
  raw: Buffer
  /** Whether the server closed the connection after its answer. */
  closedByServer: boolean
}

/**
 * Writes the bytes (several parts: one after the other), reads one response (complete by its
 * Content-Length) and closes, as the SDK does; over TLS when `secure` is given.
 * Also resolves when the server closes first.
 */
export function exchange (port: number, request: Buffer | string | (Buffer | string)[], timeoutMs = 5000, secure?: tls.ConnectionOptions): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    // `secure`: the same bytes inside TLS (bootstrap.httpsPort), as the SDK sends them to port 443.
    const socket = secure === undefined ? net.connect(port, '127.0.0.1') : tls.connect({ port, host: '127.0.0.1', ...secure })
    const chunks: Buffer[] = []
    let done = false
    let complete = false
    const finish = (closedByServer: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      // Like the SDK: give the server a moment to close by itself, then close.
      if (closedByServer) {
        socket.destroy()
        resolve({ raw: Buffer.concat(chunks), closedByServer: true })
        return
      }
      const wait = setTimeout(() => {
        socket.destroy()
        resolve({ raw: Buffer.concat(chunks), closedByServer: false })
      }, 300)
      socket.once('close', () => {
        clearTimeout(wait)
        resolve({ raw: Buffer.concat(chunks), closedByServer: true })
      })
    }
    const timer = setTimeout(() => {
      socket.destroy()
      if (!done) reject(new Error(`no complete response within ${timeoutMs} ms: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`))
    }, timeoutMs)
    socket.on('data', chunk => {
      chunks.push(chunk)
      if (!complete && responseComplete(Buffer.concat(chunks))) {
        complete = true
        finish(false)
      }
    })
    socket.on('end', () => finish(true))
    socket.on('close', () => finish(true))
    socket.on('error', err => {
      // A reset after a complete answer (the server closed with our bytes unread) still counts.
      if (chunks.length > 0) finish(true)
      else if (!done) {
        done = true
        clearTimeout(timer)
        reject(err)
      }
    })
    // The SDK writes the header and the body in separate sends: parts go out 20 ms apart.
    const parts = Array.isArray(request) ? request : [request]
    parts.forEach((part, i) => setTimeout(() => { if (!socket.destroyed) socket.write(part) }, i * 20))
  })
}

function responseComplete (data: Buffer): boolean {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return false
  const match = /\r\nContent-Length: (\d+)\r\n/i.exec(data.subarray(0, end + 2).toString('latin1'))
  return match !== null && data.length >= end + 4 + Number(match[1])
}

export interface StrictResponse {
  status: number
  statusLine: string
  /** Header lines as sent, in order. */
  headerLines: string[]
  /** Lower-cased names. */
  headers: Map<string, string>
  body: string
  json: unknown
  /** Every docs/protocol.md, "Bootstrap" point the answer breaks; empty for a good answer. */
  violations: string[]
}

/** docs/protocol.md, "Bootstrap" limits of the Link SDK for C. */
export const MAX_HEADER_LINE = 128
export const SDK_BODY_BUFFER = 192

export function readStrict (raw: Buffer): StrictResponse {
  const violations: string[] = []
  const end = raw.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`no end of header section in ${JSON.stringify(raw.toString('latin1'))}`)
  const [statusLine = '', ...headerLines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const body = raw.subarray(end + 4).toString('utf8')

  if (!statusLine.startsWith('HTTP/1.1 ')) violations.push(`status line "${statusLine}" does not start with "HTTP/1.1 "`)
  const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1] ?? NaN)

  const headers = new Map<string, string>()
  for (const line of [statusLine, ...headerLines]) {
    // The SDK reads each line with its CRLF into a 128-byte buffer.
    if (Buffer.byteLength(line, 'latin1') + 2 > MAX_HEADER_LINE) violations.push(`header line longer than ${MAX_HEADER_LINE} bytes: "${line}"`)
  }
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
  }

  const lengthLines = headerLines.filter(l => /^content-length:/i.test(l))
  if (!lengthLines.some(l => /^Content-Length: \d+$/.test(l))) violations.push(`no header spelled exactly "Content-Length: " (got ${JSON.stringify(lengthLines)})`)
  if (headers.has('transfer-encoding')) violations.push(`Transfer-Encoding: ${headers.get('transfer-encoding') ?? ''} (the SDK reads Content-Length only)`)
  const declared = Number(headers.get('content-length'))
  if (Buffer.byteLength(body) !== declared) violations.push(`body is ${Buffer.byteLength(body)} bytes, Content-Length says ${declared}`)
  if (!(headers.get('content-type') ?? '').startsWith('application/json')) violations.push(`Content-Type "${headers.get('content-type') ?? ''}" is not JSON`)

  let json: unknown = null
  try {
    json = JSON.parse(body)
    if (JSON.stringify(json) !== body) violations.push(`JSON is not compact: ${body}`)
  } catch {
    violations.push(`body is not JSON: ${body.slice(0, 80)}`)
  }
  const code = (json as { code?: unknown } | null)?.code
  if (code !== status) violations.push(`JSON code ${String(code)} differs from status ${status}`)
  if (typeof (json as { message?: unknown } | null)?.message !== 'string') violations.push('JSON has no "message"')

  if (status === 200) {
    const mqtt = (json as { data?: { resources?: { mqtt?: { host?: unknown, port?: unknown } } } } | null)?.data?.resources?.mqtt
    if (mqtt === undefined) violations.push('no data.resources.mqtt')
    // The SDK takes the first "host" and the first "port" anywhere in the body.
    const firstHost = /"host":"([^"]*)"/.exec(body)?.[1]
    const firstPort = /"port":(\d+)/.exec(body)?.[1]
    if (mqtt !== undefined && firstHost !== mqtt.host) violations.push(`first "host" in the body is ${String(firstHost)}, not the mqtt one`)
    if (mqtt !== undefined && Number(firstPort) !== mqtt.port) violations.push(`first "port" in the body is ${String(firstPort)}, not the mqtt one`)
    if (Buffer.byteLength(body) >= SDK_BODY_BUFFER) violations.push(`body is ${Buffer.byteLength(body)} bytes, not under ${SDK_BODY_BUFFER}`)
  }
  return { status, statusLine, headerLines, headers, body, json, violations }
}
