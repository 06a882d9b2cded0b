// Connections over time (docs/operations.md, "Connections over time"): every `everyMs` this node
// writes its connection count (the gauge its /metrics shows: Aedes' connected clients) into the
// registry. Samples the registry did not take wait, up to a bound, and go with the next write.
import type { Logger } from '../shared/log.js'
import type { ConnectionSample, Store } from '../shared/store/store.js'

export interface ConnectionSamplerOptions {
  store: Store
  instanceId: string
  nodeId: string
  everyMs: number
  keepMs: number
  count: () => number
  log: Logger
}

/** At most this many unwritten samples are kept while the registry is away (the oldest go first). */
const MAX_WAITING = 360
/** A shutdown waits at most this long for the last write (a registry that hangs must not hold it up). */
const LAST_WRITE_MS = 1000

/** Starts sampling; `stop` writes one last sample (the count then: 0 once the node's clients are gone). */
export function sampleConnections (options: ConnectionSamplerOptions): { stop: () => Promise<void> } {
  const { store, instanceId, nodeId, everyMs, keepMs, count, log } = options
  let waiting: ConnectionSample[] = []
  let writing: Promise<void> | null = null
  let failing = false

  const write = async (): Promise<void> => {
    const batch = waiting
    waiting = []
    try {
      await store.recordConnectionSamples(instanceId, nodeId, batch, keepMs)
      if (failing) log.info({ samples: batch.length }, 'connection samples written again')
      failing = false
    } catch (err) {
      waiting = [...batch, ...waiting].slice(-MAX_WAITING)
      if (!failing) log.warn({ err: (err as Error).message }, 'connection samples not written; kept for the next try')
      failing = true
    }
  }
  const take = (): void => {
    waiting.push({ at: Date.now(), connections: count() })
    if (waiting.length > MAX_WAITING) waiting.shift()
    // One write at a time: a slow registry gets the samples in one batch next time.
    writing ??= write().finally(() => { writing = null })
  }

  const timer = setInterval(take, everyMs)
  timer.unref()
  take()
  return {
    stop: async () => {
      clearInterval(timer)
      let bound: NodeJS.Timeout | undefined
      const last = (async () => {
        await writing
        waiting.push({ at: Date.now(), connections: count() })
        await write()
      })()
      await Promise.race([last, new Promise<void>(resolve => { bound = setTimeout(resolve, LAST_WRITE_MS) })])
      clearTimeout(bound)
    }
  }
}
