// docs/protocol.md, "The device application": what a well-behaved device does. Bootstrap on every start, keep the endpoint it got,
// bootstrap again and reconnect on a refused CONNECT, a lost connection or a notify, and back off
// with jitter meanwhile.
import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import type { MqttClient } from 'mqtt'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { notifyReplyTopic, notifyTopic } from '../shared/topics.js'
import type { Certificate } from '../shared/types.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { bootstrap, type Endpoint } from './bootstrap.js'
import { connect } from './connect.js'
import { credentials, type CredentialOptions } from './credentials.js'

export interface DeviceClientOptions {
  certificate: Certificate
  /** The bootstrap server, `http://host:port` or `https://host:port`: the one thing a device is told. */
  bootstrapUrl: string
  /** CONNECT keepalive in seconds (docs/protocol.md, "CONNECT authentication": the Link SDK's 1200 by default). */
  keepalive?: number
  /** clientId form and sign method (default: the Link SDK for C's). */
  credentials?: Omit<CredentialOptions, 'secureMode'>
  backoff?: BackoffOptions
  bootstrapTimeoutMs?: number
  connectTimeoutMs?: number
  /** Source address for every socket (load tests spread devices over 127.0.0.x). */
  localAddress?: string
  /** CA for an https bootstrap URL and for MQTT over TLS. */
  ca?: string | Buffer
  rejectUnauthorized?: boolean
  /** MQTT over TLS (securemode=2) to the endpoint bootstrap gives. */
  mqttTls?: boolean
}

/** Why the device is (re)homing: first start, a lost or refused connection, or a notify. */
export type HomeReason = 'start' | 'recover' | 'notify'

export interface ConnectedEvent {
  endpoint: Endpoint
  reason: HomeReason
  /** Attempts this homing took (1 when nothing failed). */
  attempts: number
  bootstrapMs: number
  connectMs: number
}

export interface RehomedEvent {
  from: Endpoint
  to: Endpoint
  /** Notify received -> CONNACK 0 at the new home. */
  ms: number
}

export interface FailedAttempt {
  error: Error
  /** Which step failed. */
  step: 'bootstrap' | 'connect'
  reason: HomeReason
  /** How long the client waits before trying again. */
  retryInMs: number
}

/** One connection's state: which endpoint it reached and whether the device is leaving it. */
interface Connection {
  client: MqttClient
  endpoint: Endpoint
  leaving: boolean
}

// Typed events (merged into the class below).
export interface DeviceClient {
  on(event: 'connected', listener: (e: ConnectedEvent) => void): this
  on(event: 'bootstrapped', listener: (e: { endpoint: Endpoint, ms: number }) => void): this
  on(event: 'notify', listener: (e: { id: string | null }) => void): this
  on(event: 'rehomed', listener: (e: RehomedEvent) => void): this
  on(event: 'offline', listener: (e: { reason: 'lost' | 'notify' | 'stop' }) => void): this
  on(event: 'attempt-failed', listener: (e: FailedAttempt) => void): this
  on(event: 'message', listener: (topic: string, payload: Buffer) => void): this
  on(event: 'error', listener: (err: Error) => void): this
}

export class DeviceClient extends EventEmitter {
  private running = false
  private connection: Connection | null = null
  private endpointKept: Endpoint | null = null
  private wake: (() => void) | null = null
  private timer: NodeJS.Timeout | null = null
  private homing: Promise<void> | null = null
  /** Aborts a bootstrap in flight when the client stops. */
  private stopping = new AbortController()

  constructor (readonly options: DeviceClientOptions) {
    super()
  }

  get connected (): boolean {
    return this.connection !== null && !this.connection.leaving
  }

  /** The endpoint of the last successful bootstrap. */
  get endpoint (): Endpoint | null {
    return this.endpointKept
  }

  /** Bootstraps and connects; resolves at the first CONNACK 0 (or when stopped first). */
  start (): Promise<void> {
    if (this.running) throw new Error('DeviceClient already started')
    this.running = true
    this.stopping = new AbortController()
    return this.home('start', 0)
  }

  /** Ends the connection (DISCONNECT) and every pending retry. */
  async stop (): Promise<void> {
    this.running = false
    this.stopping.abort()
    if (this.timer !== null) clearTimeout(this.timer)
    this.wake?.()
    const conn = this.connection
    this.connection = null
    if (conn !== null) {
      conn.leaving = true
      await new Promise<void>(resolve => conn.client.end(false, {}, () => resolve()))
      this.emit('offline', { reason: 'stop' })
    }
    await this.homing
  }

  /** QoS 0 or 1 publish on the current connection. */
  publish (topic: string, payload: string | Buffer, qos: 0 | 1 = 0): Promise<void> {
    const conn = this.connection
    if (conn === null || conn.leaving) return Promise.reject(new Error('not connected'))
    return new Promise((resolve, reject) => conn.client.publish(topic, payload, { qos }, err => err ? reject(err) : resolve()))
  }

  /**
   * The homing flow, one attempt at a time: wait (jittered), bootstrap, connect. Any failure goes
   * back to bootstrap (a refused CONNECT means the device lives elsewhere now).
   */
  private home (reason: HomeReason, firstDelayMs: number, notifiedAt?: number, from?: Endpoint): Promise<void> {
    const run = async (): Promise<void> => {
      let delay = firstDelayMs
      for (let attempt = 1; this.running; attempt++) {
        if (delay > 0) await this.sleep(delay)
        if (!this.running) return
        let step: FailedAttempt['step'] = 'bootstrap'
        try {
          const b0 = performance.now()
          const endpoint = await this.bootstrapStep()
          const bootstrapMs = performance.now() - b0
          this.emit('bootstrapped', { endpoint, ms: bootstrapMs })
          if (!this.running) return
          step = 'connect'
          const c0 = performance.now()
          const conn = await this.connectStep(endpoint)
          const connectMs = performance.now() - c0
          if (!this.running) {
            conn.client.end(true)
            return
          }
          this.attach(conn)
          this.emit('connected', { endpoint, reason, attempts: attempt, bootstrapMs, connectMs } satisfies ConnectedEvent)
          if (reason === 'notify' && notifiedAt !== undefined && from !== undefined) {
            this.emit('rehomed', { from, to: endpoint, ms: performance.now() - notifiedAt } satisfies RehomedEvent)
          }
          return
        } catch (err) {
          if (!this.running) return
          const error = err as Error & { retryAfterMs?: number | null }
          delay = backoffDelay(attempt, this.options.backoff, error.retryAfterMs ?? null)
          this.emit('attempt-failed', { error, step, reason, retryInMs: delay } satisfies FailedAttempt)
          // Reported as 'error' only to those who listen: the client retries regardless.
          if (this.listenerCount('error') > 0) this.emit('error', error)
        }
      }
    }
    this.homing = run()
    return this.homing
  }

  private async bootstrapStep (): Promise<Endpoint> {
    const { certificate: c, options } = { certificate: this.options.certificate, options: this.options }
    const endpoint = await bootstrap(
      { productKey: c.productKey, deviceName: c.deviceName, clientId: `${c.productKey}.${c.deviceName}`, resources: 'mqtt' },
      {
        url: options.bootstrapUrl,
        timeoutMs: options.bootstrapTimeoutMs ?? 10_000,
        signal: this.stopping.signal,
        ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
        ...(options.ca !== undefined ? { ca: options.ca } : {}),
        ...(options.rejectUnauthorized !== undefined ? { rejectUnauthorized: options.rejectUnauthorized } : {})
      }
    )
    this.endpointKept = endpoint
    return endpoint
  }

  private async connectStep (endpoint: Endpoint): Promise<Connection> {
    const o = this.options
    const conn: Connection = { client: null as unknown as MqttClient, endpoint, leaving: false }
    conn.client = await connect({
      endpoint,
      credentials: credentials(o.certificate, { ...o.credentials, secureMode: o.mqttTls === true ? 2 : 3 }),
      keepalive: o.keepalive ?? 1200,
      connectTimeoutMs: o.connectTimeoutMs ?? 30_000,
      signal: this.stopping.signal,
      ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}),
      ...(o.mqttTls === true ? { tls: { ...(o.ca !== undefined ? { ca: o.ca } : {}), ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}) } } : {}),
      onMessage: (topic, payload, _packet, client) => this.onMessage(conn, client, topic, payload)
    })
    return conn
  }

  private attach (conn: Connection): void {
    this.connection = conn
    conn.client.on('close', () => {
      if (this.connection === conn) this.connection = null
      if (conn.leaving || !this.running) return
      conn.leaving = true
      this.emit('offline', { reason: 'lost' })
      // docs/protocol.md, "The device application": bootstrap again after a jittered pause, not all at once.
      void this.home('recover', backoffDelay(0, this.options.backoff))
    })
  }

  private onMessage (conn: Connection, client: MqttClient, topic: string, payload: Buffer): void {
    const { productKey: pk, deviceName: dn } = this.options.certificate
    // docs/protocol.md, "Notify and reply": notify arrives without a SUBSCRIBE, so every incoming PUBLISH is looked at.
    if (topic !== notifyTopic(pk, dn)) {
      this.emit('message', topic, payload)
      return
    }
    const id = messageId(payload)
    this.emit('notify', { id })
    if (conn.leaving || !this.running) return
    conn.leaving = true
    const notifiedAt = performance.now()
    if (this.connection === conn) this.connection = null
    // docs/protocol.md, "Notify and reply": answer with the same id at QoS 0, then leave and find the new home.
    if (id !== null) client.publish(notifyReplyTopic(pk, dn), notifyReplyPayload(id), { qos: 0 })
    client.end(false, {}, () => this.emit('offline', { reason: 'notify' }))
    void this.home('notify', 0, notifiedAt, conn.endpoint)
  }

  private sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      this.wake = () => {
        if (this.timer !== null) clearTimeout(this.timer)
        this.timer = null
        this.wake = null
        resolve()
      }
      this.timer = setTimeout(() => this.wake?.(), ms)
    })
  }
}
