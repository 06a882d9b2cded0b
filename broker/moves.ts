// docs/distribution.md, "Rule 6": devices distributed away while online here are notified and forced offline. Move
// events come from the instance's durable log, read by this node under its stable id, so a node
// that was stalled or cut off from the registry still acts on the moves it missed. Disabling and
// deleting a device use the same log to take it offline (broker/disconnect.ts).
//
// The log is read a batch at a time (up to 500 events): one pipelined registry read for the devices
// of the batch that this node holds, then their kicks start side by side; the kicked records are
// written a batch at a time too (record-writer.ts).
import { kickedRecord } from '../shared/records.js'
import { StoreUnavailableError, type MoveSubscription } from '../shared/store/store.js'
import type { Device, DeviceMoved, MoveEvent } from '../shared/types.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'
import { disconnectHeld } from './disconnect.js'
import type { Kicker } from './kick.js'
import { RecordWriter } from './record-writer.js'
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

/** An event about a device this node holds, with the connections it holds. */
interface HeldEvent {
  event: MoveEvent
  held: DeviceSession[]
}

export function consumeMoves (ctx: HomingContext, kicker: Kicker): MoveConsumer {
  let open = true
  let subscription: MoveSubscription | null = null
  const kicks = new Set<Promise<void>>()
  // The batch reader waits here for a free kick slot: one waiter per full slot, woken by the kick
  // that ends (a Promise.race over the kicks in flight would add a reaction to each of them per wait).
  const freed: Array<() => void> = []
  const records = new RecordWriter(ctx)

  const registry = <T>(call: () => Promise<T>): Promise<T> => whenAvailable(ctx, call)

  async function onBatch (events: MoveEvent[]): Promise<void> {
    // Not held here: another node's device, or offline (the job runner's record stands).
    const held = events.flatMap(event => {
      const sessions = ctx.connections.of(event.productKey, event.deviceName)
      return sessions.length > 0 ? [{ event, held: sessions }] : []
    })
    if (held.length === 0) return
    const devices = await registry(() => readDevices(held.map(h => h.event)))
    for (const [i, h] of held.entries()) {
      start(h, devices[i] ?? null)
      if (kicks.size >= MAX_KICKS) await new Promise<void>(resolve => freed.push(resolve))
    }
  }

  /** The registry's record of each device, in the order given: one pipelined read per product. */
  async function readDevices (events: MoveEvent[]): Promise<(Device | null)[]> {
    const byProduct = new Map<string, number[]>()
    events.forEach((e, i) => {
      const at = byProduct.get(e.productKey)
      if (at === undefined) byProduct.set(e.productKey, [i])
      else at.push(i)
    })
    const out: (Device | null)[] = new Array(events.length).fill(null)
    await Promise.all([...byProduct].map(async ([productKey, at]) => {
      const found = await ctx.store.getDevices(productKey, at.map(i => (events[i] as MoveEvent).deviceName))
      at.forEach((i, j) => { out[i] = found[j] ?? null })
    }))
    return out
  }

  function start ({ event, held }: HeldEvent, device: Device | null): void {
    let work: Promise<void>
    if (event.kind === 'disconnect') {
      work = disconnectHeld(ctx, kicker, event, held, device).catch(err => {
        ctx.log.error({ err, reason: event.reason, productKey: event.productKey, deviceName: event.deviceName }, 'disconnect not completed')
      })
    } else {
      // A replayed event must not kick a device that has come back since.
      if (device?.instanceId === ctx.instanceId) return
      work = kickAndRecord(event, held).catch(err => {
        ctx.log.error({ err, jobId: event.jobId, productKey: event.productKey, deviceName: event.deviceName }, 'move not completed')
      })
    }
    kicks.add(work)
    void work.finally(() => {
      kicks.delete(work)
      freed.shift()?.()
    })
  }

  async function kickAndRecord (event: DeviceMoved, held: DeviceSession[]): Promise<void> {
    const report = await kicker.kick(held)
    if (!report.online) return
    await records.put(event.jobId, kickedRecord(event.productKey, event.deviceName, event.toInstanceId, report))
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
        subscription = await ctx.store.consumeMoveBatches(ctx.instanceId, ctx.nodeId, onBatch, onReadError)
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
