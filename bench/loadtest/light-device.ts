// The load generator's light device (`homing loadtest --device-mode light`): what DeviceClient does
// (docs/protocol.md, "The device application"), on one raw socket with packets from mqtt-packet and
// no client library: bootstrap with the Link SDK's request bytes, a signed CONNECT, the notify
// answered with notify_reply and the same id, then DISCONNECT and home again through bootstrap.
// Its state is a few fields; what every device shares (settings, counters' hooks, the stop signal)
// is held once per worker.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import tls from 'node:tls'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { backoffDelay } from '../../device/backoff.js'
import { bootstrap, type Endpoint } from '../../device/bootstrap.js'
import { ConnectFailedError, ConnectRefusedError } from '../../device/connect.js'
import { credentials, type ClientIdForm } from '../../device/credentials.js'
import { messageId, notifyReplyPayload } from '../../shared/alink.js'
import type { SignMethod } from '../../shared/sign.js'
import { notifyReplyTopic, notifyTopic } from '../../shared/topics.js'
import type { Certificate } from '../../shared/types.js'

/** What the worker counts; one object for all of its devices. */
export interface LightHooks {
  bootstrapped: (ms: number) => void
  /** Each CONNACK 0 (the device's `everConnected` says whether it was the first). */
  connected: (d: LightDevice, connectMs: number) => void
  offline: (reason: 'lost' | 'notify' | 'stop') => void
  notify: () => void
  /** Notify received -> CONNACK 0 at the new home. */
  rehomed: (ms: number) => void
  failed: (f: { error: Error, step: 'bootstrap' | 'connect' }) => void
}

/** Settings every device of a worker shares. */
export interface LightShared {
  url: string
  keepalive: number
  form: ClientIdForm
  signMethod?: SignMethod
  connectTimeout: number
  backoffBase: number
  backoffCap: number
  ca?: string
  mqttTls: boolean
  hooks: LightHooks
}

type Reason = 'start' | 'recover' | 'notify'

const DISCONNECT = mqttPacket.generate({ cmd: 'disconnect' })
const PINGREQ = mqttPacket.generate({ cmd: 'pingreq' })
const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN'])

/**
 * The Link SDK's `_conn` value, `tcp_` and a random byte in hex, as device/credentials.ts makes it:
 * from Math.random, which is not a secret here and costs far less than a crypto read per CONNECT.
 */
function linkConn (): string {
  return `tcp_${Math.floor(Math.random() * 256).toString(16).padStart(2, '0')}`
}

export class LightDevice {
  /** The connection that got CONNACK 0 and has not been left; null between homes. */
  private socket: net.Socket | null = null
  private running = false
  private wake: (() => void) | null = null
  private homing: Promise<void> | null = null
  /** While a bootstrap is in flight: stop() ends it at once. One per request, not one shared by the worker: a signal with thousands of listeners makes each removal slow. */
  private bootstrapping: AbortController | null = null
  /** When this device last wrote a packet (ms, performance clock): keepalive pings go by it. */
  private lastWriteAt = 0
  everConnected = false

  constructor (readonly certificate: Certificate, private readonly shared: LightShared, private readonly localAddress: string | undefined) {}

  get connected (): boolean {
    return this.socket !== null
  }

  start (): void {
    this.running = true
    this.home('start', 0)
  }

  /** QoS 0 publish on the current connection. */
  publish (topic: string, payload: string): Promise<void> {
    if (this.socket === null) return Promise.reject(new Error('not connected'))
    this.write(this.socket, mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }))
    return Promise.resolve()
  }

  /** PINGREQ when nothing was written for half the keepalive (the worker calls this for every device, now and then). */
  ping (now: number): void {
    if (this.socket !== null && now - this.lastWriteAt >= this.shared.keepalive * 500) this.write(this.socket, PINGREQ)
  }

  /** DISCONNECT and close; pending retries end. */
  async stop (): Promise<void> {
    this.running = false
    this.wake?.()
    this.bootstrapping?.abort()
    const socket = this.socket
    this.socket = null
    if (socket !== null) {
      await new Promise<void>(resolve => {
        socket.once('close', () => resolve())
        socket.end(DISCONNECT)
        setTimeout(() => socket.destroy(), 2000).unref()
      })
      this.shared.hooks.offline('stop')
    }
    await this.homing
  }

  /** Bootstrap, connect; any failure backs off and starts again from bootstrap. */
  private home (reason: Reason, firstDelayMs: number, notifiedAt?: number): void {
    const { hooks } = this.shared
    const run = async (): Promise<void> => {
      let delay = firstDelayMs
      for (let attempt = 1; this.running; attempt++) {
        if (delay > 0) await this.sleep(delay)
        if (!this.running) return
        let step: 'bootstrap' | 'connect' = 'bootstrap'
        try {
          const b0 = performance.now()
          const endpoint = await this.bootstrapStep()
          hooks.bootstrapped(performance.now() - b0)
          if (!this.running) return
          step = 'connect'
          const c0 = performance.now()
          const socket = await this.connectStep(endpoint)
          if (!this.running) {
            socket.destroy()
            return
          }
          this.socket = socket
          hooks.connected(this, performance.now() - c0)
          this.everConnected = true
          if (reason === 'notify' && notifiedAt !== undefined) hooks.rehomed(performance.now() - notifiedAt)
          return
        } catch (err) {
          if (!this.running) return
          const error = err as Error & { retryAfterMs?: number | null }
          delay = backoffDelay(attempt, { baseMs: this.shared.backoffBase, capMs: this.shared.backoffCap }, error.retryAfterMs ?? null)
          hooks.failed({ error, step })
        }
      }
    }
    this.homing = run()
  }

  private async bootstrapStep (): Promise<Endpoint> {
    const { productKey, deviceName } = this.certificate
    const s = this.shared
    const ac = new AbortController()
    this.bootstrapping = ac
    try {
      return await bootstrap({ productKey, deviceName, clientId: `${productKey}.${deviceName}`, resources: 'mqtt' }, {
        url: s.url,
        timeoutMs: 10_000,
        signal: ac.signal,
        ...(this.localAddress !== undefined ? { localAddress: this.localAddress } : {}),
        ...(s.ca !== undefined ? { ca: s.ca } : {})
      })
    } finally {
      this.bootstrapping = null
    }
  }

  /** Like device/connect.ts: a host name that does not resolve is tried once more at the endpoint's ip. */
  private async connectStep (endpoint: Endpoint): Promise<net.Socket> {
    try {
      return await this.attempt(endpoint, endpoint.host)
    } catch (err) {
      const code = err instanceof ConnectFailedError ? (err.cause as NodeJS.ErrnoException | undefined)?.code : undefined
      if (endpoint.ip === undefined || code === undefined || !DNS_FAILURES.has(code)) throw err
      return await this.attempt(endpoint, endpoint.ip)
    }
  }

  /** Resolves on CONNACK 0 with the socket, wired for what follows; rejects otherwise (bounded). */
  private attempt (endpoint: Endpoint, host: string): Promise<net.Socket> {
    const s = this.shared
    const base = { host, port: endpoint.port, ...(this.localAddress !== undefined ? { localAddress: this.localAddress } : {}) }
    const socket = s.mqttTls
      ? tls.connect({ ...base, ...(net.isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}), ...(s.ca !== undefined ? { ca: s.ca } : {}) })
      : net.connect(base)
    socket.setNoDelay(true)
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    const creds = credentials(this.certificate, { form: s.form, ...(s.signMethod !== undefined ? { signMethod: s.signMethod } : {}), secureMode: s.mqttTls ? 2 : 3, conn: linkConn() })
    return new Promise((resolve, reject) => {
      let settled = false
      let lastError: Error | undefined
      const fail = (err: Error): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      const timer = setTimeout(() => fail(new ConnectFailedError(`no CONNACK from ${host}:${endpoint.port}: timed out`)), s.connectTimeout)
      socket.on('error', err => { lastError = err })
      socket.on('data', (chunk: Buffer) => parser.parse(chunk))
      parser.on('error', err => socket.destroy(err))
      socket.on('close', () => {
        if (!settled) fail(new ConnectFailedError(`no CONNACK from ${host}:${endpoint.port}${lastError !== undefined ? `: ${lastError.message}` : ''}`, { cause: lastError }))
        else this.closed(socket)
      })
      parser.on('packet', (packet: Packet) => {
        if (settled) {
          this.received(socket, packet)
          return
        }
        if (packet.cmd !== 'connack') return fail(new ConnectFailedError(`expected CONNACK, got ${packet.cmd}`))
        if (packet.returnCode !== 0) return fail(new ConnectRefusedError(packet.returnCode ?? -1))
        settled = true
        clearTimeout(timer)
        resolve(socket)
      })
      this.write(socket, mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: s.keepalive,
        clientId: creds.clientId,
        username: creds.username,
        password: Buffer.from(creds.password)
      }))
    })
  }

  private received (socket: net.Socket, packet: Packet): void {
    const { productKey: pk, deviceName: dn } = this.certificate
    // docs/protocol.md, "Notify and reply": notify comes without a SUBSCRIBE, so every PUBLISH is looked at.
    if (packet.cmd !== 'publish' || packet.topic !== notifyTopic(pk, dn)) return
    this.shared.hooks.notify()
    if (socket !== this.socket || !this.running) return
    const notifiedAt = performance.now()
    this.socket = null
    const id = messageId(Buffer.from(packet.payload))
    // docs/protocol.md, "Notify and reply": answer with the same id at QoS 0, then leave and find the new home.
    if (id !== null) this.write(socket, mqttPacket.generate({ cmd: 'publish', topic: notifyReplyTopic(pk, dn), payload: notifyReplyPayload(id), qos: 0, retain: false, dup: false }))
    socket.end(DISCONNECT)
    this.shared.hooks.offline('notify')
    this.home('notify', 0, notifiedAt)
  }

  /** The connection went away without a notify: a drop; bootstrap again after a jittered pause. */
  private closed (socket: net.Socket): void {
    if (socket !== this.socket) return // left on a notify or a stop
    this.socket = null
    if (!this.running) return
    this.shared.hooks.offline('lost')
    this.home('recover', backoffDelay(0, { baseMs: this.shared.backoffBase, capMs: this.shared.backoffCap }))
  }

  private write (socket: net.Socket, bytes: Buffer): void {
    this.lastWriteAt = performance.now()
    socket.write(bytes)
  }

  private sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        this.wake = null
        resolve()
      }, ms)
      this.wake = () => {
        clearTimeout(timer)
        this.wake = null
        resolve()
      }
    })
  }
}
