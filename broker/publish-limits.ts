// What one device may publish: a payload size and a rate (PUBLISH packets per window, per node).
// Past either the connection is closed (unlike a publish outside the fences, which is dropped and
// acknowledged by default, broker.deniedPublish): MQTT 3.1.1 has no negative PUBACK, and dropping
// would be silent (a QoS 1 message would even be acknowledged). The
// Link SDK reconnects with its back-off, which slows a runaway loop further; the close is counted in
// homing_mqtt_limit_closes_total. docs/operations.md, "Hardening".
import type { PublishPacket } from 'aedes'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import type { LimitReason } from '../shared/metrics/metrics.js'
import type { DeviceSession } from './connections.js'

export interface PublishLimitOptions {
  maxPayloadBytes: number
  publishesPerWindow: number
  publishWindowSec: number
}

export class PublishLimits {
  private readonly rate: RateLimiterMemory

  constructor (private readonly options: PublishLimitOptions) {
    this.rate = new RateLimiterMemory({ points: options.publishesPerWindow, duration: options.publishWindowSec })
  }

  /** Resolves with the limit this PUBLISH passes, or null when it is within them. */
  async check (s: DeviceSession, packet: PublishPacket): Promise<LimitReason | null> {
    const size = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length
    if (size > this.options.maxPayloadBytes) return 'payload_size'
    try {
      await this.rate.consume(`${s.productKey}\n${s.deviceName}`)
      return null
    } catch {
      return 'publish_rate'
    }
  }
}
