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

/** How long the first event of a batch waits for others (ms). */
export const EVENT_BATCH_MS = 10

/**
 * For hot paths (a broker's CONNECT): nobody waits. Events added within EVENT_BATCH_MS of the first
 * go out together in one pipelined call, so a connect storm adds one registry write per 10 ms, not
 * one per device (nor one per turn of the event loop: a turn rarely holds more than one CONNECT's).
 * `background` is told of each write (a closing node waits for them).
 */
export class EventQueue {
  private pending: DeviceEventEntry[] = []
  /** The devices with an event in `pending`. */
  private devices = new Set<string>()
  /** Sends `pending` now, instead of when its 10 ms are up. */
  private due: (() => void) | null = null

  constructor (private readonly store: Store, private readonly log: Logger, private readonly background: (work: Promise<unknown>) => void) {}

  add (productKey: string, deviceName: string, event: DeviceEvent): void {
    this.pending.push({ productKey, deviceName, event })
    this.devices.add(deviceOf(productKey, deviceName))
    if (this.pending.length > 1) return
    this.background(new Promise<void>(resolve => {
      const timer = setTimeout(() => this.due?.(), EVENT_BATCH_MS)
      this.due = () => {
        clearTimeout(timer)
        this.due = null
        resolve(this.send())
      }
    }))
  }

  /**
   * Sends the waiting batch now if it holds an event of the device, before the caller writes a later
   * event of that device another way (with a registry write of its own): the timeline is kept in the
   * order written, and the batch's commands go out first on the same connection.
   */
  sendFor (productKey: string, deviceName: string): void {
    if (this.devices.has(deviceOf(productKey, deviceName))) this.due?.()
  }

  /** Synchronously as far as the registry's socket: what is sent after it goes out after it. */
  private send (): Promise<void> {
    const batch = this.pending
    this.pending = []
    this.devices = new Set()
    return appendEvents(this.store, batch, this.log)
  }
}

const deviceOf = (productKey: string, deviceName: string): string => `${productKey}\n${deviceName}`
