// The device connections this node holds, by identity (productKey, deviceName), not by MQTT clientId:
// docs/protocol.md, "CONNECT authentication" makes the identity the unit of "one live connection".
import type { Client } from 'aedes'
import type { DisconnectCause } from '../shared/device-events.js'

export interface DeviceSession {
  client: Client
  productKey: string
  deviceName: string
  /** This connection's own id in the registry's online mark. */
  session: string
  /** Set once the registry marked this connection online (store.connected answered ok). */
  marked: boolean
  /** Set when the socket is gone. */
  closed: boolean
  /** Why this node closes it, when it does (its timeline's disconnect reason; broker/timeline.ts). */
  closeCause?: DisconnectCause
}

const identity = (pk: string, dn: string): string => `${pk}\n${dn}`

export class Connections {
  private readonly byIdentity = new Map<string, Set<DeviceSession>>()
  private readonly byClient = new WeakMap<Client, DeviceSession>()

  add (s: DeviceSession): void {
    const key = identity(s.productKey, s.deviceName)
    const set = this.byIdentity.get(key) ?? new Set<DeviceSession>()
    set.add(s)
    this.byIdentity.set(key, set)
    this.byClient.set(s.client, s)
  }

  remove (s: DeviceSession): void {
    const key = identity(s.productKey, s.deviceName)
    const set = this.byIdentity.get(key)
    set?.delete(s)
    if (set?.size === 0) this.byIdentity.delete(key)
  }

  /** Every connection of this device held here (more than one only for the moment of a takeover). */
  of (productKey: string, deviceName: string): DeviceSession[] {
    return [...(this.byIdentity.get(identity(productKey, deviceName)) ?? [])]
  }

  /** The device behind an authenticated client; stays readable after close for the last hooks. */
  get (client: Client): DeviceSession | undefined {
    return this.byClient.get(client)
  }

  /** Every connection held here. */
  * all (): IterableIterator<DeviceSession> {
    for (const set of this.byIdentity.values()) yield * set
  }

  /** How many devices have a connection here. */
  get devices (): number {
    return this.byIdentity.size
  }
}
