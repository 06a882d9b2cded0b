export { Metrics, type LimitReason, type MetricsOptions, type Transport } from './metrics.js'
export { observedStore } from './store.js'
export { observeJobs } from './jobs.js'
export { limitMetrics, type LimitMetrics, type LimitName } from './limits.js'
