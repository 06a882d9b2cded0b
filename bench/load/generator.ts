// The driver's handle on a load-generator process (bench/load/load-process.ts).
import type { ChildProcess } from 'node:child_process'
import type { CredentialOptions } from '../../device/credentials.js'
import type { Certificate } from '../../shared/types.js'
import { endChild, forkTs, nextMessage } from '../child-process.js'
import type { FloodOptions, FloodResult } from './connect-flood.js'
import type { HttpFloodOptions, HttpFloodResult } from './http-flood.js'
import type { FromLoad, ToLoad } from './load-process.js'

export class LoadGenerator {
  private constructor (readonly child: ChildProcess) {}

  static async start (): Promise<LoadGenerator> {
    const child = forkTs(new URL('./load-process.ts', import.meta.url), { nodeArgs: ['--max-old-space-size=4096'] })
    await nextMessage(child, 'ready', 60_000)
    return new LoadGenerator(child)
  }

  private async ask<T extends FromLoad> (m: ToLoad, answer: T['type'], timeoutMs: number): Promise<T> {
    const reply = nextMessage<T>(this.child, answer, timeoutMs)
    this.child.send(m)
    return reply
  }

  async http (options: HttpFloodOptions): Promise<HttpFloodResult> {
    return (await this.ask<Extract<FromLoad, { type: 'http-result' }>>({ type: 'http', options }, 'http-result', options.durationMs + 120_000)).result
  }

  /** Opens and holds one connection per certificate; close() ends them. */
  async connect (options: Omit<FloodOptions, 'credentials'>, certificates: Certificate[], form?: CredentialOptions): Promise<FloodResult> {
    return (await this.ask<Extract<FromLoad, { type: 'connect-result' }>>({ type: 'connect', options, certificates, ...(form !== undefined ? { form } : {}) }, 'connect-result', 600_000)).result
  }

  /** Closes the held connections; resolves with how many the server had closed meanwhile. */
  async close (): Promise<number> {
    return (await this.ask<Extract<FromLoad, { type: 'closed' }>>({ type: 'close' }, 'closed', 120_000)).dropped
  }

  stop (): Promise<void> {
    return endChild(this.child, 10_000)
  }
}
