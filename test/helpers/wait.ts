// Every wait in a test is bounded and, when it runs out, fails within seconds with a message that
// says what did not happen (docs/testing.md, "Bounded waits"), instead of tap's 'timeout!' minutes
// later with the rest of the file never run.
import { once } from 'node:events'
import type { EventEmitter } from 'node:events'

/** The default bound of one wait: long enough for a loaded 2-core machine, short enough to fail fast. */
export const WAIT_MS = 5000

export class WaitTimeout extends Error {}

/**
 * `promise`, or a rejection `timed out after <ms> ms waiting for: <what>` (the timer starts now;
 * `what` may be a function, read when the time runs out, e.g. to add a process's output so far).
 */
export async function within<T> (ms: number, promise: Promise<T>, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(`timed out after ${ms} ms waiting for: ${typeof what === 'string' ? what : what()}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `check` every `every` ms until it holds; fails after `ms` naming `what` (a string, or read then). */
export async function eventually (check: () => boolean | Promise<boolean>, what: string | (() => string), opts: { ms?: number, every?: number } = {}): Promise<void> {
  const ms = opts.ms ?? WAIT_MS
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() >= deadline) throw new WaitTimeout(`timed out after ${ms} ms waiting for: ${typeof what === 'string' ? what : what()}`)
    await sleep(opts.every ?? 20)
  }
}

/** The arguments of the next `name` event of `emitter`, within `ms`. */
export async function event<T extends unknown[] = unknown[]> (emitter: EventEmitter, name: string, what: string, ms = WAIT_MS): Promise<T> {
  const controller = new AbortController()
  try {
    return await within(ms, once(emitter, name, { signal: controller.signal }) as Promise<T>, what)
  } finally {
    controller.abort()
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Polls the async `check` every 5 ms until it holds; fails after `timeoutMs` naming `what`. */
export async function untilAsync (check: () => Promise<boolean>, timeoutMs = 10_000, what = 'a condition of this test'): Promise<void> {
  await eventually(check, what, { ms: timeoutMs, every: 5 })
}
