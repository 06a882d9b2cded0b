// Experiments for proposed fixes, measured before the owners change their code. BENCH_AUTOPIPELINE=1
// turns on ioredis auto-pipelining on the registry connection (commands issued in one tick go out
// in one write), which is what the proposal for shared/store/redis.ts would make the default.
import type { Store } from '../../shared/store/store.js'

export function applyExperiments (store: Store): void {
  if (process.env.BENCH_AUTOPIPELINE !== '1') return
  const redis = (store as { redis?: { options: { enableAutoPipelining?: boolean } } }).redis
  if (redis !== undefined) redis.options.enableAutoPipelining = true
}
