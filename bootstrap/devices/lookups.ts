// Device records for bootstraps in flight, read together. Each command ioredis sends is a write
// syscall and, on loopback, the whole TCP send with it: per bootstrap that cost as much CPU as the
// rest of the request (BENCHMARKS.md, "Bootstrap requests/s"). So look-ups asked in one turn of the
// event loop go to the registry at the next (setImmediate) as one getDevices per product: a boot
// storm, whose answers from Redis arrive many to a read, costs one registry write per turn, not one
// per device. A lone request waits one turn and is read with getDevice, as before.
import type { Store } from '../../shared/store/store.js'
import type { Device } from '../../shared/types.js'

interface Waiter {
  deviceName: string
  resolve: (device: Device | null) => void
  reject: (err: unknown) => void
}

export class DeviceLookups {
  private pending = new Map<string, Waiter[]>()

  constructor (private readonly store: Store) {}

  /** store.getDevice, read with the look-ups of the same turn; a registry error rejects every one of them. */
  get (productKey: string, deviceName: string): Promise<Device | null> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) setImmediate(() => this.flush())
      const waiters = this.pending.get(productKey)
      if (waiters === undefined) this.pending.set(productKey, [{ deviceName, resolve, reject }])
      else waiters.push({ deviceName, resolve, reject })
    })
  }

  private flush (): void {
    const batch = this.pending
    this.pending = new Map()
    for (const [productKey, waiters] of batch) void this.read(productKey, waiters)
  }

  private async read (productKey: string, waiters: Waiter[]): Promise<void> {
    try {
      const [first] = waiters
      const devices = waiters.length === 1 && first !== undefined
        ? [await this.store.getDevice(productKey, first.deviceName)]
        : await this.store.getDevices(productKey, waiters.map(w => w.deviceName))
      waiters.forEach((w, i) => w.resolve(devices[i] ?? null))
    } catch (err) {
      for (const w of waiters) w.reject(err)
    }
  }
}
