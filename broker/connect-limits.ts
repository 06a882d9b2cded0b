// Failed CONNECTs, limited per device and per client address (memory of this node): past the limit
// the device or address is refused for a short lockout, before any registry read. The refusal is
// CONNACK 3 ("server unavailable", retry later): 4 would tell a legitimate device that its secret is
// wrong, 5 would send it back to bootstrap; with 3 the Link SDK only waits and reconnects. Lockouts
// are short (connectLockoutSec, default 10 s) because someone else's failures can trigger them: a
// device whose name an attacker uses, or the devices behind an attacker's NAT address, get in again
// within one lockout of the attack stopping. docs/operations.md, "Hardening".
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible'

export interface ConnectLimitOptions {
  failuresPerDevice: number
  failuresPerAddress: number
  windowSec: number
  lockoutSec: number
}

export type LockoutScope = 'device' | 'address'

/** A limit of 0 is off (null). */
function limiter (failures: number, options: ConnectLimitOptions): RateLimiterMemory | null {
  // The failure that reaches the limit starts the lockout: the limiter blocks on passing `points`.
  return failures === 0 ? null : new RateLimiterMemory({ points: failures - 1, duration: options.windowSec, blockDuration: options.lockoutSec })
}

export class ConnectLimits {
  private readonly perDevice: RateLimiterMemory | null
  private readonly perAddress: RateLimiterMemory | null

  constructor (options: ConnectLimitOptions) {
    this.perDevice = limiter(options.failuresPerDevice, options)
    this.perAddress = limiter(options.failuresPerAddress, options)
  }

  /** Whether CONNECTs from this address are refused now. */
  async addressLocked (address: string | null): Promise<boolean> {
    return address !== null && this.perAddress !== null && over(await this.perAddress.get(address), this.perAddress.points)
  }

  async deviceLocked (device: string): Promise<boolean> {
    return this.perDevice !== null && over(await this.perDevice.get(device), this.perDevice.points)
  }

  /** One failed CONNECT (bad identity or credentials) of this device (when known) from this address. */
  async failed (device: string | null, address: string | null): Promise<void> {
    const consumed = [
      device === null ? null : this.perDevice?.consume(device),
      address === null ? null : this.perAddress?.consume(address)
    ]
    // A rejection only says the limit is now passed (and the lockout started).
    await Promise.all(consumed.map(c => c?.catch(() => {})))
  }
}

const over = (res: RateLimiterRes | null, points: number): boolean => res !== null && res.consumedPoints > points
