// docs/protocol.md, "Notify and reply": an online device that moved away is sent thing/bootstrap/notify, given a bounded wait
// for its notify_reply, then disconnected. Its next CONNECT here gets 5 (authenticate.ts).
import type { PublishPacket } from 'aedes'
import { messageId, newMessageId, notifyPayload } from '../shared/alink.js'
import type { KickReport } from '../shared/records.js'
import { notifyReplyTopic, notifyTopic } from '../shared/topics.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { willClose, noteNotify } from './timeline.js'

/** Bound on the wait for a connection that is still between CONNECT and CONNACK. */
const CONNECTING_MS = 30_000

/** A connection that never got as far as CONNACK, or was gone before anything was sent. */
const NOT_ONLINE: KickReport = { online: false, notified: false, answered: false, disconnected: false }

interface Reply {
  answered: Promise<void>
  /** Set the moment the reply is seen, even if the socket closes right after it. */
  seen: () => boolean
  cancel: () => void
}

/** How the wait for a notify_reply ended. */
type ReplyOutcome = 'answered' | 'closed' | 'timeout'

export class Kicker {
  /** Pending notifies by session and message id. */
  private readonly replies = new Map<string, () => void>()

  constructor (readonly ctx: HomingContext) {}

  /**
   * Called for every PUBLISH a device is allowed to make, as it arrives (from authorizePublish):
   * a device that answers and disconnects at once is still seen answering, which the 'publish'
   * event, fired after the emitter has carried the message, would miss. True when the packet is the
   * reply to a notify this node is waiting for: it is this node's, and goes no further (docs/protocol.md,
   * "Notify and reply"), which spares the cluster emitter a message per moved device.
   */
  observe (s: DeviceSession, packet: PublishPacket): boolean {
    if (this.replies.size === 0 || packet.topic !== notifyReplyTopic(s.productKey, s.deviceName)) return false
    const id = messageId(packet.payload)
    const answer = id !== null ? this.replies.get(replyKey(s, id)) : undefined
    if (answer === undefined) return false
    answer()
    return true
  }

  /** Kicks every connection of one device held here; `online` is false when none got as far as CONNACK. */
  async kick (sessions: DeviceSession[]): Promise<KickReport> {
    const report = merged(await Promise.all(sessions.map(s => this.kickOne(s))))
    if (report.online) this.ctx.onKick?.(report)
    return report
  }

  /** A disabled or deleted device has nowhere to go: every connection held here is disconnected, without a notify. */
  async cut (sessions: DeviceSession[]): Promise<KickReport> {
    return merged(await Promise.all(sessions.map(s => this.cutOne(s))))
  }

  /** Resolves when the device answers notify `id`; `cancel` forgets it. */
  expectReply (s: DeviceSession, id: string): Reply {
    const key = replyKey(s, id)
    let seen = false
    let answer = (): void => {}
    const answered = new Promise<void>(resolve => { answer = resolve })
    this.replies.set(key, () => {
      if (!seen) noteNotify(this.ctx, s, 'answered')
      seen = true
      answer()
    })
    return { answered, seen: () => seen, cancel: () => { this.replies.delete(key) } }
  }

  private async kickOne (s: DeviceSession): Promise<KickReport> {
    if (!await untilConnected(s)) return NOT_ONLINE
    const id = newMessageId()
    // Listening before sending: a fast device must not answer before anyone waits for it.
    const reply = this.expectReply(s, id)
    let notified = false
    let answered = false
    try {
      notified = await notify(s, id)
      if (notified) noteNotify(this.ctx, s, 'notified')
      if (notified) answered = await awaitReply(s, reply, this.ctx.notifyTimeoutMs) === 'answered' || reply.seen()
    } finally {
      reply.cancel()
    }
    willClose([s], 'kicked')
    await disconnect(s)
    const report: KickReport = { online: true, notified, answered, disconnected: true }
    this.ctx.log.info({ productKey: s.productKey, deviceName: s.deviceName, clientId: s.client.id, ...report }, 'device moved away: kicked')
    return report
  }

  private async cutOne (s: DeviceSession): Promise<KickReport> {
    if (!await untilConnected(s)) return NOT_ONLINE
    await disconnect(s)
    return { online: true, notified: false, answered: false, disconnected: true }
  }
}

const replyKey = (s: DeviceSession, id: string): string => `${s.session}\n${id}`

/** One report for a device from those of its connections. */
function merged (reports: KickReport[]): KickReport {
  const online = reports.some(r => r.online)
  return {
    online,
    notified: reports.some(r => r.notified),
    answered: reports.some(r => r.answered),
    disconnected: online && reports.every(r => !r.online || r.disconnected)
  }
}

/** Whether the connection is up: one still authenticating is waited for (bounded), one that never comes up is not. */
async function untilConnected (s: DeviceSession): Promise<boolean> {
  const { client } = s
  if (!client.connected && !s.closed) {
    // Plain listeners, removed by hand: an AbortSignal per wait costs an AbortError (with its stack) per kick.
    await new Promise<void>(resolve => {
      const done = (): void => {
        clearTimeout(timer)
        client.off('connected', done)
        client.conn.off('close', done)
        resolve()
      }
      const timer = setTimeout(done, CONNECTING_MS).unref()
      client.once('connected', done)
      client.conn.once('close', done)
    })
  }
  return client.connected && !s.closed
}

/**
 * docs/protocol.md, "Notify and reply": QoS 0, straight to the client: the Link SDK never subscribes to this topic.
 * Whether the notify went out (false when the connection closed meanwhile).
 */
async function notify (s: DeviceSession, id: string): Promise<boolean> {
  await new Promise<void>(resolve => s.client.publish({
    cmd: 'publish',
    topic: notifyTopic(s.productKey, s.deviceName),
    payload: Buffer.from(notifyPayload(id)),
    qos: 0,
    retain: false,
    dup: false
  }, () => resolve()))
  return !s.closed
}

/** docs/protocol.md, "Notify and reply": the device answers notify_reply with the same id; wait for it, bounded. */
function awaitReply (s: DeviceSession, reply: Reply, timeoutMs: number): Promise<ReplyOutcome> {
  const conn = s.client.conn
  return new Promise(resolve => {
    let ended = false
    const end = (outcome: ReplyOutcome): void => {
      if (ended) return
      ended = true
      clearTimeout(timer)
      conn.off('close', onClose)
      resolve(outcome)
    }
    const onClose = (): void => end('closed')
    const timer = setTimeout(end, timeoutMs, 'timeout')
    conn.once('close', onClose)
    void reply.answered.then(() => end('answered'))
  })
}

async function disconnect (s: DeviceSession): Promise<void> {
  await new Promise<void>(resolve => s.client.close(() => resolve()))
}
