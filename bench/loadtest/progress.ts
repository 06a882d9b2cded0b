// Progress of a load test: a bar redrawn in place on a terminal, a plain line every few seconds otherwise.
import type { Counters } from './stats.js'

const WIDTH = 30

/** Where progress goes: a terminal gets a bar redrawn in place. */
export type Output = NodeJS.WritableStream & { isTTY?: boolean }

export function progressLine (c: Counters, devices: number, elapsedS: number): string {
  const failures = Object.values(c.failures).reduce((a, b) => a + b, 0)
  const parts = [
    `${elapsedS.toFixed(0).padStart(4)}s`,
    `connected ${c.connected}/${devices}`,
    `online ${c.online}`,
    `failed attempts ${failures}`
  ]
  if (c.dropped > 0) parts.push(`dropped ${c.dropped}`)
  if (c.notified > 0 || c.rehomed > 0) parts.push(`rehomed ${c.rehomed}/${c.notified}`)
  if (c.published > 0) parts.push(`published ${c.published}`)
  return parts.join('  ')
}

export function bar (done: number, total: number, width = WIDTH): string {
  const filled = total === 0 ? width : Math.min(width, Math.round((done / total) * width))
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

export class Progress {
  private lastPlain = 0
  constructor (private readonly out: Output, private readonly devices: number, private readonly started = Date.now(), private readonly enabled = true) {}

  update (c: Counters): void {
    if (!this.enabled) return
    const elapsed = (Date.now() - this.started) / 1000
    const line = progressLine(c, this.devices, elapsed)
    if (this.out.isTTY) {
      this.out.write(`\r${bar(c.connected, this.devices)} ${line}\x1b[K`)
    } else if (Date.now() - this.lastPlain >= 5000) {
      this.lastPlain = Date.now()
      this.out.write(line + '\n')
    }
  }

  done (): void {
    if (this.enabled && this.out.isTTY) this.out.write('\n')
  }
}
