// docs/protocol.md, "Notify and reply": an online device that moved away is sent thing/bootstrap/notify, given a bounded wait
// for its notify_reply, then disconnected. Its next CONNECT here gets 5 (authenticate.ts).
import { once } from 'node:events'
import type { PublishPacket } from 'aedes'
import { messageId, newMessageId, notifyPayload } from '../shared/alink.js'
import type { KickReport } from '../shared/records.js'
import { notifyReplyTopic, notifyTopic } from '../shared/topics.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'

interface Kick {
  s: DeviceSession
  id: string
  report: KickReport
  reply?: Reply
}

type Step = (kicker: Kicker, k: Kick) => Promise<boolean>

/** Each step answers whether the kick goes on. */
const kickSteps: Step[] = [
  untilConnected,
  notify,
  awaitReply,
  disconnect
]

/** A disabled or deleted device has nowhere to go: no notify, just the disconnect. */
const cutSteps: Step[] = [
  untilConnected,
  disconnect
]

/** Bound on the wait for a connection that is still between CONNECT and CONNACK. */
const CONNECTING_MS = 30_000

interface Reply {
  answered: Promise<void>
  /** Set the moment the reply is seen, even if the socket closes right after it. */
  seen: () => boolean
  cancel: () => void
}

export class Kicker {
  /** Pending notifies by session and message id. */
  private readonly replies = new Map<string, () => void>()

  constructor (readonly ctx: HomingContext) {}

  /**
   * Called for every PUBLISH a device is allowed to make, as it arrives (from authorizePublish):
   * a device that answers and disconnects at once is still seen answering, which the 'publish'
   * event, fired after the emitter has carried the message, would miss.
   */
  observe (s: DeviceSession, packet: PublishPacket): void {
    if (this.replies.size === 0 || packet.topic !== notifyReplyTopic(s.productKey, s.deviceName)) return
    const id = messageId(packet.payload)
    if (id !== null) this.replies.get(replyKey(s, id))?.()
  }

  /** Kicks every connection of one device held here; `online` is false when none got as far as CONNACK. */
  async kick (sessions: DeviceSession[]): Promise<KickReport> {
    const reports = await Promise.all(sessions.map(s => this.kickOne(s)))
    const report = {
      online: reports.some(r => r.online),
      notified: reports.some(r => r.notified),
      answered: reports.some(r => r.answered),
      disconnected: reports.some(r => r.online) && reports.every(r => !r.online || r.disconnected)
    }
    if (report.online) this.ctx.onKick?.(report)
    return report
  }

  /** Disconnects every connection of one device held here, without a notify; `online` as for kick(). */
  async cut (sessions: DeviceSession[]): Promise<KickReport> {
    const reports = await Promise.all(sessions.map(s => this.run(s, cutSteps)))
    return {
      online: reports.some(r => r.online),
      notified: false,
      answered: false,
      disconnected: reports.some(r => r.online) && reports.every(r => !r.online || r.disconnected)
    }
  }

  private async run (s: DeviceSession, steps: Step[]): Promise<KickReport> {
    const k: Kick = { s, id: newMessageId(), report: { online: false, notified: false, answered: false, disconnected: false } }
    for (const step of steps) {
      if (!await step(this, k)) break
    }
    return k.report
  }

  private async kickOne (s: DeviceSession): Promise<KickReport> {
    const report = await this.run(s, kickSteps)
    if (report.online) this.ctx.log.info({ productKey: s.productKey, deviceName: s.deviceName, clientId: s.client.id, ...report }, 'device moved away: kicked')
    return report
  }

  /** Resolves when the device answers notify `id`; `cancel` forgets it. */
  expectReply (s: DeviceSession, id: string): Reply {
    const key = replyKey(s, id)
    let seen = false
    let answer = (): void => {}
    const answered = new Promise<void>(resolve => { answer = resolve })
    this.replies.set(key, () => {
      seen = true
      answer()
    })
    return { answered, seen: () => seen, cancel: () => { this.replies.delete(key) } }
  }
}

const replyKey = (s: DeviceSession, id: string): string => `${s.session}\n${id}`

/** A connection still authenticating is kicked once it is up (or forgotten if it never comes up). */
async function untilConnected (_kicker: Kicker, k: Kick): Promise<boolean> {
  const { client } = k.s
  if (!client.connected && !k.s.closed) {
    const ac = new AbortController()
    await Promise.race([
      once(client, 'connected', { signal: ac.signal }),
      once(client.conn, 'close', { signal: ac.signal }),
      new Promise(resolve => setTimeout(resolve, CONNECTING_MS).unref())
    ]).catch(() => {})
    ac.abort()
  }
  k.report.online = client.connected && !k.s.closed
  return k.report.online
}

/** docs/protocol.md, "Notify and reply": QoS 0, straight to the client: the Link SDK never subscribes to this topic. */
async function notify (kicker: Kicker, k: Kick): Promise<boolean> {
  const { s, id } = k
  // Listening before sending: a fast device must not answer before anyone waits for it.
  k.reply = kicker.expectReply(s, id)
  await new Promise<void>(resolve => s.client.publish({
    cmd: 'publish',
    topic: notifyTopic(s.productKey, s.deviceName),
    payload: Buffer.from(notifyPayload(id)),
    qos: 0,
    retain: false,
    dup: false
  }, () => resolve()))
  k.report.notified = !s.closed
  return true
}

/** docs/protocol.md, "Notify and reply": the device answers notify_reply with the same id; wait for it, bounded. */
async function awaitReply (kicker: Kicker, k: Kick): Promise<boolean> {
  const reply = k.reply
  if (reply === undefined) return true
  if (k.report.notified) {
    let timer: NodeJS.Timeout | undefined
    const ac = new AbortController()
    const outcome = await Promise.race([
      reply.answered.then(() => 'answered' as const),
      once(k.s.client.conn, 'close', { signal: ac.signal }).then(() => 'closed' as const, () => 'closed' as const),
      new Promise<'timeout'>(resolve => { timer = setTimeout(resolve, kicker.ctx.notifyTimeoutMs, 'timeout') })
    ])
    clearTimeout(timer)
    ac.abort()
    k.report.answered = outcome === 'answered' || reply.seen()
  }
  reply.cancel()
  return true
}

async function disconnect (_kicker: Kicker, k: Kick): Promise<boolean> {
  await new Promise<void>(resolve => k.s.client.close(() => resolve()))
  k.report.disconnected = true
  return true
}
