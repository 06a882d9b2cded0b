// Limits on repeated failures (the sidecar's failed API authentications and bootstrap look-ups of
// unknown devices), counted per limit: the failures that counted and the requests refused with 429.
import { Counter } from 'prom-client'
import type { Metrics } from './metrics.js'

export type LimitName = 'api_auth' | 'bootstrap_lookup'

export interface LimitMetrics {
  failures: Counter<'limit'>
  refused: Counter<'limit'>
}

const made = new WeakMap<Metrics, LimitMetrics>()

/** The counters in this Metrics' registry, registered once however many apps share it. */
export function limitMetrics (metrics: Metrics): LimitMetrics {
  let found = made.get(metrics)
  if (found === undefined) {
    const registers = [metrics.registry]
    found = {
      failures: new Counter({
        name: 'homing_limit_failures_total',
        help: 'Failures counted against a per-address limit: api_auth (bad or missing token), bootstrap_lookup (unknown device)',
        labelNames: ['limit'],
        registers
      }),
      refused: new Counter({
        name: 'homing_limit_refusals_total',
        help: 'Requests refused with 429 because their client address went over a failure limit',
        labelNames: ['limit'],
        registers
      })
    }
    made.set(metrics, found)
  }
  return found
}
