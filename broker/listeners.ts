// The transports of one broker node, each optional in `instances[].listen`: mqtt (TCP), mqtts (TLS),
// ws and wss (MQTT over WebSocket at /mqtt, subprotocol "mqtt"). They only carry bytes: every
// transport hands its stream to the same Aedes instance, so authentication and topic fences (Aedes
// hooks) are the same on all of them.
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import net, { isIP } from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { clientAddress } from '../shared/client-address.js'
import { ConfigError } from '../shared/config.js'
import { listen } from '../shared/listen.js'
import type { Logger } from '../shared/log.js'
import type { Metrics, Transport } from '../shared/metrics/metrics.js'
import type { Gauge } from 'prom-client'
import type { TlsFiles } from '../shared/tls.js'

export const TRANSPORTS: readonly Transport[] = ['mqtt', 'mqtts', 'ws', 'wss']

/** [MQTT-6.0.0-2] path and subprotocol of MQTT over WebSocket, as mqtt.js and browsers use them. */
export const WS_PATH = '/mqtt'
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1']

/**
 * Largest WebSocket message: a 256 KiB MQTT payload (the message limit of the platform devices were
 * written for) plus room for its topic and fixed header. ws closes a larger message with 1009.
 */
export const WS_MAX_PAYLOAD = 256 * 1024 + 4096

/** Aedes reads the device's address from `req.connDetails` (client.connDetails); we fill it for WebSocket. */
export interface ConnectionDetails {
  ipAddress: string | null
  port: number | undefined
  ipFamily: number
  isWebsocket: boolean
  /** 1 when the address came from a trusted X-Forwarded-For. */
  isProxy: number
}

type Handler = (stream: Duplex, req?: IncomingMessage) => void

export interface Listener {
  transport: Transport
  port: number
  /** Hands every connection, including those that arrived before, to `handle`. */
  accept: (handle: Handler) => void
  /** Stops accepting; connections already handed over stay with their owner (Aedes closes them). */
  stop: () => void
}

export interface ListenOptions {
  host: string
  /** Only the transports given here are opened; 0 picks a free port. */
  ports: Partial<Record<Transport, number>>
  /** Needed for mqtts and wss. */
  tls: TlsFiles | null
  /** ws and wss: take the device address from X-Forwarded-For (instances[].listen.trustProxy). */
  trustProxy: boolean
  log: Logger
  metrics?: Metrics
  /** broker.maxPacketBytes: a WebSocket message may carry one packet this large (default WS_MAX_PAYLOAD). */
  maxPacketBytes?: number
  /** Names the config keys in errors, e.g. `instances[0].listen`. */
  configPath: string
}

/** A short id for one device connection, for matching log lines; set when the transport accepts it. */
const connectionIds = new WeakMap<Duplex, string>()

export function connectionId (stream: Duplex): string | undefined {
  return connectionIds.get(stream)
}

/** The transport a device connection came in on; set when the transport accepts it. */
const transports = new WeakMap<Duplex, Transport>()

export function transportOf (stream: Duplex): Transport | undefined {
  return transports.get(stream)
}

/** Binds every transport given (all first: a port that is taken fails the node before it runs), in TRANSPORTS order. */
export async function openListeners (options: ListenOptions): Promise<Listener[]> {
  const opened: Listener[] = []
  try {
    for (const transport of TRANSPORTS) {
      const port = options.ports[transport]
      if (port === undefined) continue
      opened.push(await openListener(transport, port, options))
    }
  } catch (err) {
    for (const listener of opened) listener.stop()
    throw err
  }
  return opened
}

async function openListener (transport: Transport, port: number, options: ListenOptions): Promise<Listener> {
  const secure = transport === 'mqtts' || transport === 'wss'
  if (secure && options.tls === null) throw new ConfigError(`${options.configPath}.${transport}: needs the top-level "tls" block`)
  const tlsFiles = options.tls as TlsFiles
  const early: [Duplex, IncomingMessage | undefined][] = []
  let handle: Handler | null = null
  const sockets = options.metrics?.sockets.labels(transport)
  const hand = (stream: Duplex, req?: IncomingMessage): void => {
    track(stream, transport, options.log, sockets, req)
    if (handle === null) early.push([stream, req])
    else handle(stream, req)
  }

  let server: net.Server
  let closeExtra = (): void => {}
  if (transport === 'mqtt') {
    server = net.createServer(socket => hand(socket))
  } else if (transport === 'mqtts') {
    server = tls.createServer(tlsFiles, socket => hand(socket))
    server.on('tlsClientError', (err: Error) => options.log.debug({ transport, err: err.message }, 'TLS handshake failed'))
  } else {
    const web = secure ? https.createServer(tlsFiles) : http.createServer()
    const wss = new WebSocketServer({
      noServer: true,
      // Raised with a larger broker.maxPacketBytes (plus a fixed header, at most 5 bytes); the packet
      // meter (broker/packet-meter.ts) enforces the cap itself.
      maxPayload: (options.maxPacketBytes ?? 0) > WS_MAX_PAYLOAD ? (options.maxPacketBytes ?? 0) + 5 : WS_MAX_PAYLOAD,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: offered => SUBPROTOCOLS.find(p => offered.has(p)) ?? false
    })
    web.on('request', (_req, res) => refuseHttp(res, 426, 'MQTT over WebSocket only: upgrade at /mqtt'))
    web.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = checkUpgrade(req)
      if (refusal !== null) return refuseUpgrade(socket, refusal.status, refusal.message)
      wss.handleUpgrade(req, socket, head, ws => {
        ;(req as IncomingMessage & { connDetails: ConnectionDetails }).connDetails = details(req, options.trustProxy)
        hand(createWebSocketStream(ws), req)
      })
    })
    if (secure) web.on('tlsClientError', (err: Error) => options.log.debug({ transport, err: err.message }, 'TLS handshake failed'))
    web.headersTimeout = 10_000
    web.requestTimeout = 10_000
    server = web
    closeExtra = () => {
      wss.close()
      web.closeIdleConnections()
    }
  }

  await listen(server, options.host, port, `${options.configPath}.${transport}`)
  const address = server.address()
  return {
    transport,
    port: typeof address === 'object' && address !== null ? address.port : port,
    accept: h => {
      handle = h
      for (const [stream, req] of early.splice(0)) h(stream, req)
    },
    stop: () => {
      for (const [stream] of early.splice(0)) stream.destroy()
      server.close()
      closeExtra()
    }
  }
}

/** [MQTT-6.0.0-2]: MQTT over WebSocket lives at /mqtt; a client that offers subprotocols must offer mqtt. */
function checkUpgrade (req: IncomingMessage): { status: number, message: string } | null {
  const path = (req.url ?? '/').split('?')[0]
  if (path !== WS_PATH) return { status: 404, message: `no WebSocket endpoint at ${path ?? ''}; use ${WS_PATH}` }
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map(p => p.trim()).filter(p => p !== '')
  if (offered.length > 0 && !offered.some(p => SUBPROTOCOLS.includes(p))) {
    return { status: 400, message: `WebSocket subprotocol must be "mqtt" (offered: ${offered.join(', ')})` }
  }
  return null
}

function refuseUpgrade (socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status, message } })
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

function refuseHttp (res: http.ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status, message } })
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Upgrade: 'websocket', Connection: 'close' })
  res.end(body)
}

/** The device's address: the socket's peer, or X-Forwarded-For behind a trusted proxy (shared/client-address.ts). */
function details (req: IncomingMessage, trustProxy: boolean): ConnectionDetails {
  const peer = req.socket.remoteAddress
  const ipAddress = clientAddress(peer, req.headers['x-forwarded-for'], trustProxy)
  return {
    ipAddress,
    port: req.socket.remotePort,
    ipFamily: ipAddress === null ? 0 : isIP(ipAddress),
    isWebsocket: true,
    isProxy: trustProxy && req.headers['x-forwarded-for'] !== undefined ? 1 : 0
  }
}

let connections = 0
/** Unique within the process; the log lines carry the node id beside it. */
const PROCESS_TAG = `${process.pid.toString(36)}.`

/** Connection id, socket gauge and debug log lines; cheap when debug is off. */
function track (stream: Duplex, transport: Transport, log: Logger, sockets: Gauge.Internal<'transport'> | undefined, req: IncomingMessage | undefined): void {
  const id = PROCESS_TAG + (++connections).toString(36)
  connectionIds.set(stream, id)
  transports.set(stream, transport)
  sockets?.inc()
  stream.once('close', () => {
    sockets?.dec()
    if (log.isLevelEnabled('debug')) log.debug({ conn: id, transport }, 'connection closed')
  })
  if (log.isLevelEnabled('debug')) {
    const address = (req as (IncomingMessage & { connDetails?: ConnectionDetails }) | undefined)?.connDetails?.ipAddress ??
      (stream as Partial<net.Socket>).remoteAddress ?? null
    log.debug({ conn: id, transport, address }, 'connection opened')
  }
}
