// docs/operations.md, "Redis outage": brokers recover without a restart. A write that must not be lost (an
// offline mark, a job record) waits for the registry to come back, until the node closes.
import { StoreUnavailableError } from '../shared/store/store.js'
import type { HomingContext } from './context.js'

const RETRY_MS = 500

export async function whenAvailable<T> (ctx: HomingContext, call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call()
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || ctx.signal.aborted) throw err
      await sleep(RETRY_MS)
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms).unref())
