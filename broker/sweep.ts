// A live connection whose device record no longer exists (the registry lost its data, or the record
// went without a move event) is disconnected: every `intervalMs` this node reads the records of the
// devices it holds, in pipelined batches per product, one batch at a time, and closes those without
// one. Skipped while the registry is down (the next sweep tries again). docs/operations.md, "Hardening".
import { StoreUnavailableError } from '../shared/store/store.js'
import type { DeviceSession } from './connections.js'
import type { HomingContext } from './context.js'

/** Records read per registry round trip. */
const BATCH = 500

/** Starts sweeping (0: never); the returned function stops it. */
export function sweepConnections (ctx: HomingContext, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => {}
  let running = false
  const timer = setInterval(() => {
    if (running) return
    running = true
    sweep(ctx).catch(err => {
      if (!(err instanceof StoreUnavailableError)) ctx.log.error({ err }, 'connection sweep failed')
    }).finally(() => { running = false })
  }, intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** One pass; resolves with how many connections it closed. */
export async function sweep (ctx: HomingContext): Promise<number> {
  const byProduct = new Map<string, DeviceSession[]>()
  for (const s of ctx.connections.all()) {
    // Only connections that got as far as the registry's online mark: the others are authenticating.
    if (!s.marked || s.closed) continue
    const list = byProduct.get(s.productKey) ?? []
    list.push(s)
    byProduct.set(s.productKey, list)
  }
  let closed = 0
  for (const [productKey, sessions] of byProduct) {
    for (let i = 0; i < sessions.length; i += BATCH) {
      if (ctx.signal.aborted) return closed
      const batch = sessions.slice(i, i + BATCH)
      const records = await ctx.store.getDevices(productKey, batch.map(s => s.deviceName))
      batch.forEach((s, j) => {
        if (records[j] !== null || s.closed) return
        closed++
        ctx.onLimit?.('record_missing')
        ctx.log.warn({ productKey, deviceName: s.deviceName, clientId: s.client.id }, 'device record gone: disconnecting')
        s.client.close()
      })
    }
  }
  return closed
}
