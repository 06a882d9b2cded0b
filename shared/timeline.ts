// Writing device events (shared/device-events.ts). The timeline is a record of what happened, never
// a reason for the work itself to fail: an append that fails is counted (the store's registry-error
// metric, op `appendDeviceEvents`) and logged at debug, and the caller goes on.
import type { DeviceEvent, DeviceEventEntry } from './device-events.js'
import type { Logger } from './log.js'
import type { Store } from './store/store.js'

/** Appends the events, pipelined; resolves when written or given up, never rejects. */
export async function appendEvents (store: Store, entries: DeviceEventEntry[], log: Logger): Promise<void> {
  if (entries.length === 0) return
  try {
    await store.appendDeviceEvents(entries)
  } catch (err) {
    log.debug({ err: (err as Error).message, events: entries.length }, 'device events not kept')
  }
}

/**
 * For hot paths (a broker's CONNECT): nobody waits. Events added in one turn of the event loop go
 * out together in one pipelined call at the next (setImmediate), so a connect storm adds one
 * registry round per turn, not one per device. `background` is told of each write (a closing node
 * waits for them).
 */
export class EventQueue {
  private pending: DeviceEventEntry[] = []

  constructor (private readonly store: Store, private readonly log: Logger, private readonly background: (work: Promise<unknown>) => void) {}

  add (productKey: string, deviceName: string, event: DeviceEvent): void {
    this.pending.push({ productKey, deviceName, event })
    if (this.pending.length > 1) return
    this.background(new Promise<void>(resolve => setImmediate(resolve)).then(() => {
      const batch = this.pending
      this.pending = []
      return appendEvents(this.store, batch, this.log)
    }))
  }
}
