// Limits on repeated failures from one client address (docs/operations.md, "Rate limits"): failed
// API authentications, bootstrap look-ups of unknown devices. Only failures count, so a fleet behind
// one NAT bootstrapping successfully is never slowed; once an address is over, every request of that
// kind from it is refused with 429 and Retry-After until the block ends (otherwise the answers would
// still tell a guessed token or device name from a wrong one). The counters live in this process's
// memory (rate-limiter-flexible): each sidecar counts on its own, and a restart forgets them.
import { isIPv6 } from 'node:net'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import type { Logger } from '../../shared/log.js'
import { limitMetrics, type LimitName, type Metrics } from '../../shared/metrics/index.js'
import { ApiError } from './http-error.js'

export interface FailureLimitOptions {
  points: number
  windowSeconds: number
  blockSeconds: number
}

export class FailureLimit {
  private readonly limiter: RateLimiterMemory

  constructor (readonly name: LimitName, private readonly options: FailureLimitOptions, private readonly refusals: RefusalLog, private readonly metrics?: Metrics) {
    this.limiter = new RateLimiterMemory({ points: options.points, duration: options.windowSeconds, blockDuration: options.blockSeconds })
  }

  /** Throws the 429 when the address is over the limit now. */
  async check (address: string): Promise<void> {
    const state = await this.limiter.get(limitKey(address))
    if (state !== null && state.consumedPoints > this.options.points) throw this.refuse(address, state.msBeforeNext)
  }

  /** Counts one failure; throws the 429 when it takes the address over the limit. */
  async failed (address: string): Promise<void> {
    if (this.metrics !== undefined) limitMetrics(this.metrics).failures.inc({ limit: this.name })
    try {
      await this.limiter.consume(limitKey(address))
    } catch (res) {
      if (res instanceof RateLimiterRes) throw this.refuse(address, res.msBeforeNext)
      throw res
    }
  }

  private refuse (address: string, msBeforeNext: number): ApiError {
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000))
    if (this.metrics !== undefined) limitMetrics(this.metrics).refused.inc({ limit: this.name })
    this.refusals.refused(this.name, limitKey(address), retryAfter)
    return new ApiError(429, 'too_many_requests', `too many failed ${this.name === 'api_auth' ? 'authentications' : 'look-ups'} from this address: retry in ${retryAfter} s`, undefined, { 'Retry-After': String(retryAfter) })
  }
}

/**
 * What one client is: its IPv4 address, or for IPv6 its /64 (one host usually holds a whole /64, and
 * counting each of its addresses apart would let it spray past the limit and fill the memory).
 */
export function limitKey (address: string): string {
  if (!isIPv6(address)) return address
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  return `${groups.slice(0, 4).map(g => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`
}

/** At most this many addresses are summarised per window; the rest are counted together. */
const MAX_ADDRESSES = 10_000

/**
 * Refusals in the log: the first from an address in a window gets a line at once, the rest of the
 * window's are one summary line per address with their count, so a flood leaves a few lines.
 */
export class RefusalLog {
  private readonly counts = new Map<string, { limit: LimitName, address: string, count: number }>()
  private others = 0
  private timer: NodeJS.Timeout | null = null

  constructor (private readonly log: Logger, private readonly windowSeconds: number) {}

  refused (limit: LimitName, address: string, retryAfter: number): void {
    const key = `${limit} ${address}`
    const entry = this.counts.get(key)
    if (entry !== undefined) {
      entry.count++
      return
    }
    if (this.counts.size >= MAX_ADDRESSES) {
      this.others++
      return
    }
    this.counts.set(key, { limit, address, count: 0 })
    this.log.warn({ limit, address, retryAfter }, `rate limited: refusals from this address are summarised every ${this.windowSeconds} s`)
    this.timer ??= setInterval(() => this.flush(), this.windowSeconds * 1000).unref()
  }

  /**
   * One line per address refused again since its last line; an address with no refusal in the whole
   * window is forgotten (its next refusal gets a first line again). Stops when nothing is left.
   */
  flush (): void {
    for (const [key, entry] of this.counts) {
      if (entry.count === 0) {
        this.counts.delete(key)
        continue
      }
      this.log.warn({ limit: entry.limit, address: entry.address, refused: entry.count, windowSeconds: this.windowSeconds }, 'rate limited (summary)')
      entry.count = 0
    }
    if (this.others > 0) this.log.warn({ refused: this.others, windowSeconds: this.windowSeconds }, 'rate limited (summary of further addresses)')
    this.others = 0
    if (this.counts.size === 0 && this.timer !== null) {
      clearInterval(this.timer)
      this.timer = null
    }
  }
}

export interface Limits {
  apiAuth: FailureLimit
  bootstrap: FailureLimit
}

export function createLimits (config: { limits: { apiAuthFailures: FailureLimitOptions, bootstrapFailures: FailureLimitOptions, logWindowSeconds: number } }, log: Logger, metrics?: Metrics): Limits {
  const refusals = new RefusalLog(log, config.limits.logWindowSeconds)
  return {
    apiAuth: new FailureLimit('api_auth', config.limits.apiAuthFailures, refusals, metrics),
    bootstrap: new FailureLimit('bootstrap_lookup', config.limits.bootstrapFailures, refusals, metrics)
  }
}
