// Experiments for proposed fixes, measured before the owners change their code.
//  - BENCH_AUTOPIPELINE=1: ioredis auto-pipelining on the registry connection (commands issued in one
//    tick go out in one write), what the proposal for shared/store/redis.ts would make the default.
//  - BENCH_NO_TAKEOVER=1: the node does not announce takeovers (an upper bound of what announcing only
//    when the registry saw an older connection would save; never a valid configuration).
import type { Aedes } from 'aedes'
import type { Store } from '../../shared/store/store.js'

export function applyExperiments (store: Store): void {
  if (process.env.BENCH_AUTOPIPELINE !== '1') return
  const redis = (store as { redis?: { options: { enableAutoPipelining?: boolean } } }).redis
  if (redis !== undefined) redis.options.enableAutoPipelining = true
}

type Emit = (packet: { topic: string }, cb?: (err?: Error) => void) => void

export function applyBrokerExperiments (aedes: Aedes): void {
  if (process.env.BENCH_NO_TAKEOVER !== '1') return
  const mq = (aedes as unknown as { mq: { emit: Emit } }).mq
  const emit = mq.emit.bind(mq)
  mq.emit = (packet, cb) => {
    if (packet.topic === '$SYS/homing/takeover') {
      cb?.()
      return
    }
    emit(packet, cb)
  }
}
