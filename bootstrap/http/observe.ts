// What each request leaves behind: each face reports its requests (a metric, a log line with the
// request id) through this timing middleware, placed outside its error writer so that it sees the
// status finally answered.
import type { Middleware, ParameterizedContext } from 'koa'
import type { Counter } from 'prom-client'
import type { RequestState } from './request-id.js'

/** Called once per request, after the answer was set. */
export type Report<S extends RequestState> = (ctx: ParameterizedContext<S>, seconds: number) => void

export function observe<S extends RequestState> (report: Report<S>): Middleware<S> {
  return async (ctx, next) => {
    const start = process.hrtime.bigint()
    try {
      await next()
    } finally {
      report(ctx, Number(process.hrtime.bigint() - start) / 1e9)
    }
  }
}

/** The fields of a request's log line. */
export function requestFields (ctx: ParameterizedContext<RequestState>, seconds: number): Record<string, unknown> {
  return lineFields(ctx.state.requestId, ctx.method, ctx.path, ctx.status, seconds)
}

/** requestFields for a request Koa never saw (devices/fast-path.ts). */
export function lineFields (requestId: string, method: string, path: string, status: number, seconds: number): Record<string, unknown> {
  return { requestId, method, path, status, ms: Math.round(seconds * 1e4) / 10 }
}

/** Counts by status, label children made once: the hot path is a Map lookup and an increment. */
export function statusCounter (counter: Counter<'code'>): (status: number) => void {
  const byStatus = new Map<number, Counter.Internal>()
  return status => {
    let child = byStatus.get(status)
    if (child === undefined) byStatus.set(status, child = counter.labels(String(status)))
    child.inc()
  }
}
