// broker.movedDevices `redirect` (docs/protocol.md, "Moved devices"): a device that moved away while
// offline (or lost its notify) and comes back here with a cached endpoint is not refused with
// CONNACK 5 forever. Its CONNECT is accepted, it is sent thing/bootstrap/notify (cmd 0) at once, it may
// publish nothing but the notify reply, it is never held or marked online here, and it is
// disconnected after the reply or the bounded wait (config broker.notifyTimeoutMs).
import { once } from 'node:events'
import type { Client, PublishPacket } from 'aedes'
import { messageId, newMessageId, notifyPayload } from '../shared/alink.js'
import type { Device } from '../shared/types.js'
import { notifyReplyTopic, notifyTopic } from '../shared/topics.js'

/** How a redirect ended: the device answered, the wait ran out, or the device went first. */
export type RedirectOutcome = 'answered' | 'timeout' | 'closed'

/** Bound on the wait between an accepted CONNECT and its CONNACK. */
const CONNECTING_MS = 10_000

interface Redirected {
  productKey: string
  deviceName: string
  id: string
  answer: () => void
}

export class Redirects {
  private readonly held = new Map<Client, Redirected>()

  constructor (private readonly timeoutMs: number, private readonly onDone?: (outcome: RedirectOutcome) => void) {}

  /** Whether this device, assigned elsewhere, is one to redirect rather than refuse: it moved away by a job. */
  static applies (device: Device, instanceId: string): boolean {
    return device.enabled && device.instanceId !== null && device.instanceId !== instanceId && device.lastJobId !== null
  }

  has (client: Client): boolean {
    return this.held.has(client)
  }

  /** A PUBLISH of a redirected device: the notify reply ends the wait; every other one is refused. True: allowed. */
  publish (client: Client, packet: PublishPacket): boolean {
    const r = this.held.get(client)
    if (r === undefined || packet.topic !== notifyReplyTopic(r.productKey, r.deviceName)) return false
    if (messageId(packet.payload) === r.id) r.answer()
    return true
  }

  /** Called once the CONNECT is accepted: notify after CONNACK, wait, disconnect. */
  start (client: Client, productKey: string, deviceName: string): Promise<RedirectOutcome> {
    let answer = (): void => {}
    const answered = new Promise<void>(resolve => { answer = resolve })
    const r: Redirected = { productKey, deviceName, id: newMessageId(), answer }
    this.held.set(client, r)
    return this.run(client, r, answered).finally(() => this.held.delete(client))
  }

  private async run (client: Client, r: Redirected, answered: Promise<void>): Promise<RedirectOutcome> {
    const ac = new AbortController()
    const closed = once(client.conn, 'close', { signal: ac.signal }).then(() => 'closed' as const, () => 'closed' as const)
    let timer: NodeJS.Timeout | undefined
    try {
      if (!client.connected) {
        const up = await Promise.race([
          once(client, 'connected', { signal: ac.signal }).then(() => true, () => false),
          closed.then(() => false),
          new Promise<false>(resolve => { timer = setTimeout(resolve, CONNECTING_MS, false) })
        ])
        clearTimeout(timer)
        if (!up) return this.end(client, 'closed')
      }
      client.publish({ cmd: 'publish', topic: notifyTopic(r.productKey, r.deviceName), payload: Buffer.from(notifyPayload(r.id)), qos: 0, retain: false, dup: false }, () => {})
      const outcome = await Promise.race([
        answered.then(() => 'answered' as const),
        closed,
        new Promise<'timeout'>(resolve => { timer = setTimeout(resolve, this.timeoutMs, 'timeout') })
      ])
      return this.end(client, outcome)
    } finally {
      clearTimeout(timer)
      ac.abort()
    }
  }

  private async end (client: Client, outcome: RedirectOutcome): Promise<RedirectOutcome> {
    await new Promise<void>(resolve => client.close(() => resolve()))
    this.onDone?.(outcome)
    return outcome
  }
}
