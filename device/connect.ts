// docs/protocol.md, "CONNECT authentication": one signed MQTT 3.1.1 connection to the endpoint that bootstrap gave. mqtt.js's own
// reconnect is off: the device client decides what happens after a loss (docs/protocol.md, "The device application").
import net from 'node:net'
import tls from 'node:tls'
import { MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt'
import type { Endpoint } from './bootstrap-wire.js'
import type { Credentials } from './credentials.js'

/** CONNACK with a non-zero return code (docs/protocol.md, "CONNECT authentication": 2 bad identity, 3 registry down, 4 unknown or bad signature, 5 not here). */
export class ConnectRefusedError extends Error {
  constructor (readonly returnCode: number) {
    super(`CONNECT refused with return code ${returnCode}`)
    this.name = 'ConnectRefusedError'
  }
}

/** The broker could not be reached, or the connection ended before CONNACK. */
export class ConnectFailedError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ConnectFailedError'
  }
}

export interface ConnectOptions {
  endpoint: Endpoint
  credentials: Credentials
  /** Seconds (docs/protocol.md, "CONNECT authentication": the Link SDK uses 1200). */
  keepalive: number
  connectTimeoutMs: number
  localAddress?: string
  /** MQTT over TLS (securemode=2). */
  tls?: { ca?: string | Buffer, rejectUnauthorized?: boolean }
  /** Aborting before CONNACK closes the socket and rejects. */
  signal?: AbortSignal
  /** Attached before the CONNECT goes out, so that nothing that follows CONNACK is missed. */
  onMessage: (topic: string, payload: Buffer, packet: IPublishPacket, client: MqttClient) => void
}

const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN'])

/** `host`: the endpoint's host name, or its `ip` on the fallback attempt (TLS still verifies the name). */
function streamBuilder (opts: ConnectOptions, host: string): () => net.Socket {
  return () => {
    const { endpoint } = opts
    const base = { host, port: endpoint.port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) }
    const socket = opts.tls === undefined
      ? net.connect(base)
      : tls.connect({
        ...base,
        ...(net.isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
        ...(opts.tls.ca !== undefined ? { ca: opts.tls.ca } : {}),
        rejectUnauthorized: opts.tls.rejectUnauthorized ?? true
      })
    socket.setNoDelay(true)
    return socket
  }
}

/** The first attempt failed because the host name did not resolve. */
function dnsFailure (err: unknown): boolean {
  const code = err instanceof ConnectFailedError ? (err.cause as NodeJS.ErrnoException | null | undefined)?.code : undefined
  return code !== undefined && DNS_FAILURES.has(code)
}

/**
 * Resolves with the connected client on CONNACK 0. docs/protocol.md, "Bootstrap": like the Link SDK, a host name that
 * does not resolve is tried once more at the endpoint's `ip`, when bootstrap gave one.
 */
export async function connect (opts: ConnectOptions): Promise<MqttClient> {
  try {
    return await attempt(opts, opts.endpoint.host)
  } catch (err) {
    const { ip } = opts.endpoint
    if (ip === undefined || !dnsFailure(err) || opts.signal?.aborted === true) throw err
    return await attempt(opts, ip)
  }
}

function attempt (opts: ConnectOptions, host: string): Promise<MqttClient> {
  const options: IClientOptions = {
    protocolVersion: 4,
    clean: true,
    clientId: opts.credentials.clientId,
    username: opts.credentials.username,
    password: opts.credentials.password,
    keepalive: opts.keepalive,
    connectTimeout: opts.connectTimeoutMs,
    reconnectPeriod: 0,
    resubscribe: false,
    queueQoSZero: false
  }
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted === true) {
      reject(new ConnectFailedError('connect aborted'))
      return
    }
    const client = new MqttClient(streamBuilder(opts, host), options)
    let lastError: Error | null = null
    const onAbort = (): void => {
      lastError = new Error('connect aborted')
      client.end(true)
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const onError = (err: Error & { code?: unknown }): void => {
      lastError = typeof err.code === 'number' && err.code > 0 && err.code < 6 && err.message.startsWith('Connection refused')
        ? new ConnectRefusedError(err.code)
        : err
    }
    const onClose = (): void => {
      cleanup()
      client.end(true)
      reject(lastError instanceof ConnectRefusedError ? lastError : new ConnectFailedError(`no CONNACK from ${host}:${opts.endpoint.port}${lastError ? `: ${lastError.message}` : ''}`, { cause: lastError }))
    }
    const onConnect = (): void => {
      cleanup()
      resolve(client)
    }
    const cleanup = (): void => {
      opts.signal?.removeEventListener('abort', onAbort)
      client.off('close', onClose)
      client.off('connect', onConnect)
    }
    // mqtt.js reports every error here; the caller learns the outcome from the promise.
    client.on('error', onError)
    client.on('message', (topic, payload, packet) => opts.onMessage(topic, payload, packet, client))
    client.on('close', onClose)
    client.on('connect', onConnect)
  })
}
