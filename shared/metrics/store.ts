// Registry errors, counted where every part meets the registry: the Store. Wrapping it (rather than
// each caller) counts the sidecar's, the job runner's and the brokers' calls alike.
import { StoreUnavailableError, type Store } from '../store/store.js'
import type { Metrics } from './metrics.js'

/**
 * The same store, with each call that fails for an unreachable registry counted under its method
 * name. The caller still gets the original promise, rejection included.
 */
export function observedStore (store: Store, metrics: Metrics): Store {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get (target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      let method = wrapped.get(prop)
      if (method === undefined) {
        const errors = metrics.registryErrors.labels(String(prop))
        const call = value as (...args: unknown[]) => unknown
        method = (...args: unknown[]): unknown => {
          const result = call.apply(target, args)
          if (result instanceof Promise) {
            result.catch((err: unknown) => { if (err instanceof StoreUnavailableError) errors.inc() })
          }
          return result
        }
        wrapped.set(prop, method)
      }
      return method
    }
  })
}
