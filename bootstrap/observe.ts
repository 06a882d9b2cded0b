// What each request leaves behind: a metric (device bootstrap: by status, with its latency) and a
// log line with the request id. Operators' API calls are logged at info (who changed what: the
// account id, never its token); device bootstraps, a fleet's worth of them, at debug.
import type { Middleware } from 'koa'
import type { Counter } from 'prom-client'
import type { Logger } from '../shared/log.js'
import type { Metrics } from '../shared/metrics/metrics.js'
import type { ApiState } from './context.js'
import type { RequestState } from './request-id.js'

const BOOTSTRAP_PATH = '/auth/bootstrap'

/** `isApi`: whether a path belongs to the management API, however spelled (api-path.ts). */
export function observe (log: Logger, metrics: Metrics | undefined, isApi: (path: string) => boolean): Middleware<RequestState & Partial<ApiState>> {
  // Label children by status, made once: the hot path is a Map lookup and two increments.
  const children = new Map<Counter<'code'>, Map<number, Counter.Internal>>()
  const count = (counter: Counter<'code'>, status: number): void => {
    let byStatus = children.get(counter)
    if (byStatus === undefined) children.set(counter, byStatus = new Map())
    let child = byStatus.get(status)
    if (child === undefined) byStatus.set(status, child = counter.labels(String(status)))
    child.inc()
  }

  return async (ctx, next) => {
    const start = process.hrtime.bigint()
    try {
      await next()
    } finally {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9
      const status = ctx.status
      const fields = { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, status, ms: Math.round(seconds * 1e4) / 10 }
      if (ctx.path === BOOTSTRAP_PATH) {
        if (metrics !== undefined) {
          count(metrics.bootstrapRequests, status)
          metrics.bootstrapSeconds.observe(seconds)
        }
        log.debug(fields, 'bootstrap')
      } else if (isApi(ctx.path)) {
        if (metrics !== undefined) count(metrics.apiRequests, status)
        // Refusals by a rate limit are summarised per address (failure-limit.ts), not a line each.
        if (status === 429) log.debug(fields, 'api request')
        else log.info({ ...fields, account: ctx.state.account?.id }, 'api request')
      }
    }
  }
}
