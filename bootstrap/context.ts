// What every part of the sidecar is handed: the topology, the registry and a logger.
import type { Config, Topology } from '../shared/config.js'
import type { Logger } from '../shared/log.js'
import type { Metrics } from '../shared/metrics/metrics.js'
import type { Store } from '../shared/store/store.js'
import type { Account } from '../shared/types.js'

export interface Sidecar {
  config: Config
  topology: Topology
  store: Store
  log: Logger
  /** Counts requests and serves /metrics when given. */
  metrics?: Metrics
  /** Milliseconds since the epoch; Date.now unless a test controls time (verification codes expire). */
  clock?: () => number
}

/** Koa state set by the bearer-token middleware on /api/v1 routes. */
export interface ApiState {
  account: Account
}
