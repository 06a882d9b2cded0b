// docs/protocol.md, "Bootstrap": the bootstrap exchange as bytes: the request exactly as the Link SDK for C writes it,
// and a reader of the answer that is as strict as the SDK's where that matters to a device.

export interface BootstrapQuery {
  productKey: string
  deviceName: string
  /** The SDK sends `<pk>.<dn>`; optional on the wire. */
  clientId?: string
  version?: string
  timestamp?: string
  /** Comma-separated resource names; the SDK sends `mqtt`. */
  resources?: string
}

export interface Endpoint {
  host: string
  port: number
  /** IPv4 literal to fall back on when DNS fails (docs/protocol.md, "Bootstrap"). */
  ip?: string
}

export interface BootstrapResponse {
  status: number
  headers: Map<string, string>
  body: string
}

/** Form encoding as the SDK does it: fields in this order, values percent-encoded. */
export function bootstrapBody (q: BootstrapQuery): string {
  const fields: [string, string | undefined][] = [
    ['productKey', q.productKey],
    ['deviceName', q.deviceName],
    ['clientId', q.clientId],
    ['version', q.version],
    ['timestamp', q.timestamp],
    ['resources', q.resources ?? 'mqtt']
  ]
  return fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')
}

/** docs/protocol.md, "Bootstrap": `Host` without a port, no `Connection` header, this header order. */
export function bootstrapRequest (host: string, q: BootstrapQuery, path = '/auth/bootstrap'): Buffer {
  const body = bootstrapBody(q)
  const head = `POST ${path} HTTP/1.1\r\n` +
    `Host: ${host}\r\n` +
    'Accept: text/xml,text/javascript,text/html,application/json\r\n' +
    'Content-Type: application/x-www-form-urlencoded;charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    '\r\n'
  return Buffer.from(head + body)
}

export class ResponseFormatError extends Error {
  constructor (message: string) {
    super(`bootstrap answer: ${message}`)
    this.name = 'ResponseFormatError'
  }
}

/**
 * Reads one HTTP/1.1 response from the bytes received so far. Returns null while incomplete.
 * Like the SDK: the status line must start with `HTTP/1.1 `, the body length comes from
 * `Content-Length` only (no chunked encoding).
 */
export function readResponse (data: Buffer): BootstrapResponse | null {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) {
    if (data.length > 16 * 1024) throw new ResponseFormatError('header section too large')
    return null
  }
  const lines = data.subarray(0, end).toString('latin1').split('\r\n')
  const statusLine = lines[0] ?? ''
  const match = /^HTTP\/1\.1 (\d{3})( |$)/.exec(statusLine)
  if (match === null) throw new ResponseFormatError(`status line "${statusLine.slice(0, 40)}" is not HTTP/1.1`)
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new ResponseFormatError(`bad header line "${line.slice(0, 40)}"`)
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  if (headers.get('transfer-encoding') !== undefined) throw new ResponseFormatError('chunked or encoded body (the SDK needs Content-Length)')
  const lengthText = headers.get('content-length')
  if (lengthText === undefined || !/^\d+$/.test(lengthText)) throw new ResponseFormatError('no Content-Length')
  const length = Number(lengthText)
  const start = end + 4
  if (data.length < start + length) return null
  return { status: Number(match[1]), headers, body: data.subarray(start, start + length).toString('utf8') }
}

/** docs/protocol.md, "Bootstrap": `{"code":200,"data":{"resources":{"mqtt":{"host":..,"port":..}}},"message":"success"}`. */
export function parseEndpoint (body: string): Endpoint {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new ResponseFormatError('body is not JSON')
  }
  const mqtt = (parsed as { data?: { resources?: { mqtt?: unknown } } } | null)?.data?.resources?.mqtt
  if (typeof mqtt !== 'object' || mqtt === null) throw new ResponseFormatError('no data.resources.mqtt')
  const { host, port, ip } = mqtt as { host?: unknown, port?: unknown, ip?: unknown }
  if (typeof host !== 'string' || host === '') throw new ResponseFormatError('mqtt.host missing')
  const portNumber = typeof port === 'string' ? Number(port) : port
  if (typeof portNumber !== 'number' || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) {
    throw new ResponseFormatError('mqtt.port missing or out of range')
  }
  return { host, port: portNumber, ...(typeof ip === 'string' && ip !== '' ? { ip } : {}) }
}

/** The `{"code":N,"message":"..."}` of an error answer, as far as it can be read. */
export function parseErrorBody (body: string): { code?: number, message?: string } {
  try {
    const parsed = JSON.parse(body) as { code?: unknown, message?: unknown }
    return {
      ...(typeof parsed.code === 'number' ? { code: parsed.code } : {}),
      ...(typeof parsed.message === 'string' ? { message: parsed.message } : {})
    }
  } catch {
    return {}
  }
}

/** `Retry-After` in seconds (the only form a bootstrap server sends) or an HTTP date; ms from now. */
export function retryAfterMs (value: string | undefined, now = Date.now()): number | null {
  if (value === undefined || value === '') return null
  if (/^\d+$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}
