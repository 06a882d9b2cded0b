// docs/distribution.md, "Rule 6": devices distributed away while online here are notified and forced offline. Move
// events come from the instance's durable log, read by this node under its stable id, so a node
// that was stalled or cut off from the registry still acts on the moves it missed. Disabling and
// deleting a device use the same log to take it offline (broker/disconnect.ts).
import { kickedRecord } from '../shared/records.js'
import { StoreUnavailableError, type MoveSubscription } from '../shared/store/store.js'
import type { DeviceDisconnect, DeviceMoved, MoveEvent } from '../shared/types.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { disconnectHeld } from './disconnect.js'
import type { Kicker } from './kick.js'
import { sleep, whenAvailable } from './registry.js'

/** Kicks run side by side up to this many; the log is read on while they wait for replies. */
const MAX_KICKS = 1000
const RETRY_MS = 500

export interface MoveConsumer {
  /** Resolves once this node's consumer is registered: moves published from then on reach it. */
  ready: Promise<void>
  /** False while this node cannot read its moves (readiness says so: docs/operations.md, "Hardening"). */
  consuming: () => boolean
  close: () => Promise<void>
}

export function consumeMoves (ctx: HomingContext, kicker: Kicker): MoveConsumer {
  let open = true
  let subscription: MoveSubscription | null = null
  const kicks = new Set<Promise<void>>()

  const registry = <T>(call: () => Promise<T>): Promise<T> => whenAvailable(ctx, call)

  async function onMove (event: MoveEvent): Promise<void> {
    if (event.kind === 'disconnect') return onDisconnect(event)
    return onDeviceMoved(event)
  }

  async function onDisconnect (event: DeviceDisconnect): Promise<void> {
    const held = ctx.connections.of(event.productKey, event.deviceName)
    if (held.length === 0) return // not held here: another node's, or offline
    const cut = disconnectHeld(ctx, kicker, event, held).catch(err => {
      ctx.log.error({ err, reason: event.reason, productKey: event.productKey, deviceName: event.deviceName }, 'disconnect not completed')
    })
    kicks.add(cut)
    void cut.finally(() => kicks.delete(cut))
    if (kicks.size >= MAX_KICKS) await Promise.race(kicks)
  }

  async function onDeviceMoved (event: DeviceMoved): Promise<void> {
    const held = ctx.connections.of(event.productKey, event.deviceName)
    if (held.length === 0) return // offline here: the job runner's record stands
    const device = await registry(() => ctx.store.getDevice(event.productKey, event.deviceName))
    // A replayed event must not kick a device that has come back since.
    if (device?.instanceId === ctx.instanceId) return
    const kick = kickAndRecord(event, held).catch(err => {
      ctx.log.error({ err, jobId: event.jobId, productKey: event.productKey, deviceName: event.deviceName }, 'move not completed')
    })
    kicks.add(kick)
    void kick.finally(() => kicks.delete(kick))
    if (kicks.size >= MAX_KICKS) await Promise.race(kicks)
  }

  async function kickAndRecord (event: DeviceMoved, held: DeviceSession[]): Promise<void> {
    const report = await kicker.kick(held)
    if (!report.online) return
    const record = kickedRecord(event.productKey, event.deviceName, event.toInstanceId, report)
    await registry(() => ctx.store.putRecords(event.jobId, [record]))
  }

  /** A lost group is an error each time (moves were missed); other read errors are summarised (one line per window). */
  function onReadError (err: Error, kind: 'nogroup' | 'read', recreated: boolean): void {
    ctx.onMoveStreamError?.(kind, recreated)
    if (kind === 'nogroup') ctx.log.error({ err: err.message, recreated }, 'move stream consumer group lost: re-creating it (moves published before were missed)')
    else ctx.refusals.note('move stream', 'move stream not readable: retrying', { err: err.message })
  }

  const ready = (async () => {
    while (open) {
      try {
        // Fails fast while the registry is down, where a blocking consumer would wait for it silently.
        await ctx.store.ping()
        subscription = await ctx.store.consumeMoves(ctx.instanceId, ctx.nodeId, onMove, onReadError)
        if (!open) await subscription.close()
        return
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err
        ctx.log.warn({ err: err.message }, 'registry unavailable: move events not consumed yet')
        await sleep(RETRY_MS)
      }
    }
  })()

  return {
    ready,
    consuming: () => subscription !== null && subscription.consuming(),
    close: async () => {
      open = false
      await Promise.race([ready.catch(() => {}), sleep(RETRY_MS * 2)])
      await subscription?.close()
      await Promise.all(kicks)
    }
  }
}
