// Homing as an Aedes plugin: attaches Homing's hooks to an Aedes instance the caller created
// (docs/architecture.md, "Parts"). The caller's own hooks keep running: theirs decide first on CONNECT, ours
// first on publish and subscribe.
import { Redirects, type RedirectOutcome } from './redirect.js'
import type { Aedes, Client, PublishPacket } from 'aedes'
import { BROKER_LIMIT_DEFAULTS } from '../shared/config.js'
import { silentLogger, type Logger } from '../shared/log.js'
import type { DeniedAction, SdkFamily } from '../shared/metrics/devices.js'
import type { LimitReason } from '../shared/metrics/metrics.js'
import type { KickReport } from '../shared/records.js'
import type { Store } from '../shared/store/store.js'
import { EventQueue } from '../shared/timeline.js'
import type { DisconnectReason } from '../shared/types.js'
import { createAuthenticate } from './authenticate.js'
import { createAuthorizePublish, createAuthorizeSubscribe } from './authorize.js'
import { ConnectLimits, type LockoutScope } from './connect-limits.js'
import { Connections } from './connections.js'
import { emitterOf, type HomingContext } from './context.js'
import { Kicker } from './kick.js'
import { logSummary } from './log-summary.js'
import { consumeMoves } from './moves.js'
import { addressOf } from './presence.js'
import { keepProperties } from './properties.js'
import { PublishLimits } from './publish-limits.js'
import { sweepConnections } from './sweep.js'
import { listenTakeovers } from './takeover.js'
import { willClose, watchKeepalives } from './timeline.js'
import { answerPosts } from './thing-replies.js'

export interface HomingOptions {
  /** The instance this broker serves (config `instances[].id`). */
  instanceId: string
  /** Stable id of this node: its move-event consumer is keyed by it. */
  nodeId: string
  store: Store
  log?: Logger
  /** docs/protocol.md, "Notify and reply": wait for notify_reply before the kick, ms (default 2000). */
  notifyTimeoutMs?: number
  /** docs/protocol.md, "CONNECT authentication": accepted keepalive, seconds (default 30-1200). */
  keepaliveMin?: number
  keepaliveMax?: number
  /** Told what each kick of an online device did: notified, answered, disconnected (for metrics). */
  onKick?: (report: KickReport) => void
  /** Told each time a disabled or deleted device was disconnected here (for metrics). */
  onDisconnect?: (reason: DisconnectReason) => void
  /** What one device may cost this node (config `broker.*`, docs/operations.md "Hardening"); defaults for the rest. */
  limits?: Partial<BrokerLimits>
  /** Metrics hooks: a connection closed on a limit, a CONNECT refused by a lockout, a failed move-stream read. */
  onLimit?: (reason: LimitReason) => void
  onLockout?: (scope: LockoutScope) => void
  onMoveStreamError?: (kind: 'nogroup' | 'read', recreated: boolean) => void
  /** docs/protocol.md, "Topics": a PUBLISH outside the fences is dropped and acknowledged (`ignore`, default) or closes (`disconnect`). */
  deniedPublish?: 'ignore' | 'disconnect'
  /** Metrics hooks: a refused PUBLISH, an accepted device CONNECT (SDK family, transport), a thing-model reply sent. */
  onDeniedPublish?: (action: DeniedAction) => void
  onDeviceConnect?: (sdk: SdkFamily, transport: string) => void
  onThingReply?: (code: number) => void
  /** docs/protocol.md, "Moved devices": refuse (default) or redirect a device that moved away; told how each redirect ended. */
  movedDevices?: 'refuse' | 'redirect'
  onRedirect?: (outcome: RedirectOutcome) => void
}

export type BrokerLimits = typeof BROKER_LIMIT_DEFAULTS

export interface HomingBroker {
  /** Resolves once the move consumer and the takeover listener are in place. */
  ready: Promise<void>
  /** The devices connected to this node. */
  connections: Connections
  /** False while this node cannot read its move events (not ready). */
  consumingMoves: () => boolean
  /** Whether this node accepted the client's CONNECT (true before its CONNACK is written). */
  authenticated: (client: Client) => boolean
  /** Counts and logs (summarised) a connection the transport closed on a limit (broker/connection-limits.ts). */
  limitClosed: (client: Client, reason: LimitReason) => void
  /** Stops consuming moves and listening for takeovers; waits for the registry writes in flight. */
  close: () => Promise<void>
}

export function homing (aedes: Aedes, options: HomingOptions): HomingBroker {
  const pending = new Set<Promise<unknown>>()
  const closing = new AbortController()
  const limits: BrokerLimits = { ...BROKER_LIMIT_DEFAULTS, ...options.limits }
  const log = (options.log ?? silentLogger).child({ instanceId: options.instanceId, nodeId: options.nodeId })
  const ctx: HomingContext = {
    aedes,
    mq: emitterOf(aedes),
    instanceId: options.instanceId,
    nodeId: options.nodeId,
    store: options.store,
    log,
    connections: new Connections(),
    authenticated: new WeakSet(),
    notifyTimeoutMs: options.notifyTimeoutMs ?? 2000,
    keepalive: { min: options.keepaliveMin ?? 30, max: options.keepaliveMax ?? 1200 },
    signal: closing.signal,
    onKick: options.onKick,
    onDisconnect: options.onDisconnect,
    connectLimits: new ConnectLimits({
      failuresPerDevice: limits.connectFailuresPerDevice,
      failuresPerAddress: limits.connectFailuresPerAddress,
      windowSec: limits.connectFailureWindowSec,
      lockoutSec: limits.connectLockoutSec
    }),
    publishLimits: new PublishLimits(limits),
    refusals: logSummary(log, limits.connectFailureWindowSec * 1000),
    onLimit: options.onLimit,
    onLockout: options.onLockout,
    onMoveStreamError: options.onMoveStreamError,
    deniedPublish: options.deniedPublish ?? 'ignore',
    dropped: new WeakSet(),
    deniedLogged: new WeakSet(),
    onDeniedPublish: options.onDeniedPublish,
    onDeviceConnect: options.onDeviceConnect,
    onThingReply: options.onThingReply,
    movedDevices: options.movedDevices ?? 'refuse',
    redirects: new Redirects(options.notifyTimeoutMs ?? 2000, options.onRedirect),
    timeline: new EventQueue(options.store, log, work => ctx.background(work)),
    background: work => {
      pending.add(work)
      const done = (): void => { pending.delete(work) }
      work.then(done, done)
    }
  }

  const kicker = new Kicker(ctx)
  const hooks = attachHooks(ctx, kicker)
  const stopProperties = keepProperties(ctx)
  const stopReplies = answerPosts(ctx)
  const moves = consumeMoves(ctx, kicker)
  const takeovers = listenTakeovers(ctx)
  const stopSweep = sweepConnections(ctx, limits.sweepIntervalMs)
  const stopKeepalives = watchKeepalives(ctx)

  return {
    ready: Promise.all([moves.ready, takeovers.ready]).then(() => {}),
    connections: ctx.connections,
    consumingMoves: moves.consuming,
    authenticated: client => ctx.authenticated.has(client),
    limitClosed: (client, reason) => {
      ctx.onLimit?.(reason)
      const s = ctx.connections.get(client)
      if (s !== undefined) willClose([s], 'limit')
      const address = addressOf(client)
      const who = s === undefined ? address ?? '' : `${s.productKey}/${s.deviceName}`
      ctx.refusals.note(`${reason} ${who}`, 'connection over a limit: closing', { productKey: s?.productKey, deviceName: s?.deviceName, address, limit: reason })
    },
    close: async () => {
      closing.abort()
      stopSweep()
      stopKeepalives()
      ctx.refusals.close()
      await moves.close()
      await takeovers.close()
      stopProperties()
      stopReplies()
      hooks.detach()
      // Work may add more as it ends (an offline mark that finds nothing to clear queues its timeline event).
      while (pending.size > 0) await Promise.allSettled([...pending])
    }
  }
}

/** Wraps the instance's hooks; `detach` puts the caller's back. */
function attachHooks (ctx: HomingContext, kicker: Kicker): { detach: () => void } {
  const { aedes } = ctx
  const theirs = {
    preConnect: aedes.preConnect,
    authenticate: aedes.authenticate,
    authorizePublish: aedes.authorizePublish,
    authorizeSubscribe: aedes.authorizeSubscribe,
    publish: Object.prototype.hasOwnProperty.call(aedes, 'publish') ? aedes.publish : undefined
  }
  const ours = createAuthenticate(ctx)
  const authorizePublish = createAuthorizePublish(ctx, (s, packet) => kicker.observe(s, packet))
  const authorizeSubscribe = createAuthorizeSubscribe(ctx)

  aedes.preConnect = (client, packet, done) => {
    ours.preConnect(client, packet, () => theirs.preConnect.call(aedes, client, packet, done))
  }
  aedes.authenticate = (client, username, password, done) => {
    theirs.authenticate.call(aedes, client, username, password, (err, ok) => {
      if (err || !ok) return done(err, ok)
      ours.authenticate(client, username, password, done)
    })
  }
  aedes.authorizePublish = (client, packet, done) => {
    authorizePublish(client, packet, err => {
      if (err) return done(err)
      // Refused under broker.deniedPublish `ignore`: acknowledged, and dropped by the wrapper below.
      if (ctx.dropped.has(packet)) return done(null)
      theirs.authorizePublish.call(aedes, client, packet, done)
    })
  }
  // Aedes acknowledges an authorized PUBLISH, then hands the same packet object to publish(): a
  // dropped one stops here (no retained store, no subscriber, no 'publish' event). Aedes has no
  // documented way to acknowledge and skip, short of this.
  const publish = aedes.publish
  const wrapped = function (this: Aedes, packet: PublishPacket, ...rest: unknown[]): void {
    if (ctx.dropped.has(packet)) {
      ctx.dropped.delete(packet)
      const done = rest.find(r => typeof r === 'function') as ((err?: Error) => void) | undefined
      done?.()
      return
    }
    ;(publish as (...args: unknown[]) => void).call(this, packet, ...rest)
  }
  aedes.publish = wrapped as Aedes['publish']
  aedes.authorizeSubscribe = (client, sub, done) => {
    authorizeSubscribe(client, sub, (err, granted) => {
      if (err || !granted) return done(err, granted)
      theirs.authorizeSubscribe.call(aedes, client, granted, done)
    })
  }
  return {
    detach: () => {
      const { publish: own, ...hooks } = theirs
      Object.assign(aedes, hooks)
      if (own === undefined) delete (aedes as Partial<Aedes>).publish
      else aedes.publish = own
    }
  }
}
