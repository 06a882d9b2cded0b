// Broker tests: a config over the shared test Redis, devices made through the Store, signed MQTT
// connections with mqtt.js.
import { randomBytes } from 'node:crypto'
import mqtt, { type IClientOptions, type MqttClient, type Packet } from 'mqtt'
import { parseConfig, type Config } from '../../shared/config.js'
import { newDevice } from '../../shared/device.js'
import { sign, type SignMethod } from '../../shared/sign.js'
import type { Store } from '../../shared/store/store.js'
import type { Certificate } from '../../shared/types.js'
import { REDIS_URL } from './redis.js'

/** Instances a, b (region r1) and c (region r2), all listening on any free port. */
export function brokerConfig (keyPrefix: string, extra: { redis?: boolean, broker?: Record<string, unknown> } = {}): Config {
  const instance = (id: string, region: string) => ({
    id, region, account: 'acme', endpoint: { host: '127.0.0.1', port: 1884 }, listen: { host: '127.0.0.1', mqtt: 0 }
  })
  return parseConfig({
    ...(extra.redis === false ? {} : { redis: REDIS_URL }),
    keyPrefix,
    broker: extra.broker,
    regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }, { id: 'r2', name: 'Two', lat: 10, lon: 10 }],
    accounts: [{ id: 'acme', name: 'Acme', token: 'acme-token-0123456789' }],
    instances: [instance('a', 'r1'), instance('b', 'r1'), instance('c', 'r2')]
  })
}

/** Creates devices at `instanceId` directly in the registry; returns their certificates. */
export async function makeDevices (store: Store, productKey: string, names: string[], instanceId: string): Promise<Certificate[]> {
  const devices = names.map(dn => newDevice(productKey, dn, instanceId))
  const taken = await store.createDevices(devices)
  if (taken.length > 0) throw new Error(`device names taken: ${taken.join(', ')}`)
  return devices.map(({ productKey, deviceName, deviceSecret }) => ({ productKey, deviceName, deviceSecret }))
}

export interface Credentials {
  clientId: string
  username: string
  password: string
}

/** A Link SDK C style CONNECT: `pk.dn|timestamp=...,_ss=1,securemode=3,signmethod=...,_conn=...|`. */
export function credentials (cert: Certificate, options: { method?: SignMethod, id?: string, secret?: string } = {}): Credentials {
  const method = options.method ?? 'hmacsha256'
  const id = options.id ?? `${cert.productKey}.${cert.deviceName}`
  const timestamp = String(Date.now())
  const clientId = `${id}|timestamp=${timestamp},_ss=1,securemode=3,signmethod=${method},_conn=${randomBytes(3).toString('hex')}|`
  const password = sign(options.secret ?? cert.deviceSecret, { clientId: id, deviceName: cert.deviceName, productKey: cert.productKey, timestamp }, method)
  return { clientId, username: `${cert.deviceName}&${cert.productKey}`, password }
}

const base: IClientOptions = { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, connectTimeout: 5000 }

/** Where a test connects: a plain MQTT port of 127.0.0.1, or a whole broker URL (mqtts://, ws://.../mqtt, wss://). */
export type BrokerAt = number | string

const brokerUrl = (at: BrokerAt): string => typeof at === 'number' ? `mqtt://127.0.0.1:${at}` : at

/** Connects with these fields; resolves the client once CONNACK 0 came, rejects with the CONNACK error otherwise. */
export async function connect (at: BrokerAt, creds: Credentials, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(brokerUrl(at), { ...base, ...creds, ...options }, false)
}

export function connectDevice (port: number, cert: Certificate, options: IClientOptions = {}): Promise<MqttClient> {
  return connect(port, credentials(cert), options)
}

/** The CONNACK return code the broker answers to these fields (0 when accepted; the client is closed again). */
export async function connackCode (at: BrokerAt, creds: Partial<Credentials>, options: IClientOptions = {}): Promise<number> {
  try {
    const client = await mqtt.connectAsync(brokerUrl(at), { ...base, ...creds, ...options }, false)
    await client.endAsync()
    return 0
  } catch (err) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'number') return code
    throw err
  }
}

/** Resolves when the broker closes this client's connection. */
export function closed (client: MqttClient): Promise<void> {
  return new Promise(resolve => {
    if (client.disconnected || !client.connected) return resolve()
    client.once('close', () => resolve())
  })
}

/** The next message on `topic`. */
export function nextMessage (client: MqttClient, topic: string): Promise<Buffer> {
  return new Promise(resolve => {
    const on = (t: string, payload: Buffer): void => {
      if (t !== topic) return
      client.off('message', on)
      resolve(payload)
    }
    client.on('message', on)
  })
}

/** SUBSCRIBE and the granted codes of its SUBACK as sent (mqtt.js turns any 0x80 into an error). */
export function suback (client: MqttClient, subscriptions: Record<string, { qos: 0 | 1 | 2 }>): Promise<number[]> {
  return new Promise(resolve => {
    const on = (packet: Packet): void => {
      if (packet.cmd !== 'suback') return
      client.off('packetreceive', on)
      resolve((packet.granted as number[]) ?? [])
    }
    client.on('packetreceive', on)
    client.subscribe(subscriptions, () => {})
  })
}
