// The device face: POST /auth/bootstrap (docs/protocol.md, "Bootstrap"), every answer on /auth/* in
// the device byte format, no request-id header, the connection closed after it unless kept (connection.ts). bootstrap/app.ts hands it the paths under /auth/.
import Koa from 'koa'
import type { Logger } from '../../shared/log.js'
import type { Metrics } from '../../shared/metrics/metrics.js'
import type { Sidecar } from '../context.js'
import { errors } from '../http/errors.js'
import { requireHost } from '../http/host.js'
import { lineFields, observe, statusCounter } from '../http/observe.js'
import { requestId, type RequestState } from '../http/request-id.js'
import { bootstrapRoutes, type BootstrapSteps } from './bootstrap-route.js'
import { keepOrClose } from './connection.js'
import { writeWireError } from './wire.js'

/** `steps`: the bootstrap's, shared with the fast path (one look-up limit whichever path a request takes). */
export function deviceFace (sidecar: Sidecar, steps: BootstrapSteps): Koa<RequestState> {
  const app = new Koa<RequestState>()
  const report = reportBootstrap(sidecar.log, sidecar.metrics)
  app.use(observe<RequestState>((ctx, seconds) => report(ctx.state.requestId, ctx.method, ctx.path, ctx.status, seconds)))
  app.use(keepOrClose(sidecar.config.bootstrap.keepAlive.proxies))
  app.use(errors(sidecar.log, writeWireError))
  app.use(requestId({ echo: false }))
  app.use(requireHost())
  const routes = bootstrapRoutes(steps)
  app.use(routes.routes())
  app.use(routes.allowedMethods())
  return app
}

/** What each request on the device face leaves behind, whichever path answered it (fast-path.ts). */
export type BootstrapReport = (requestId: string, method: string, path: string, status: number, seconds: number) => void

/** By status, with its latency; a fleet's worth of bootstraps are logged at debug only. */
export function reportBootstrap (log: Logger, metrics: Metrics | undefined): BootstrapReport {
  const count = metrics === undefined ? undefined : statusCounter(metrics.bootstrapRequests)
  return (requestId, method, path, status, seconds) => {
    if (metrics !== undefined) {
      count?.(status)
      metrics.bootstrapSeconds.observe(seconds)
    }
    if (log.isLevelEnabled('debug')) log.debug(lineFields(requestId, method, path, status, seconds), 'bootstrap')
  }
}
