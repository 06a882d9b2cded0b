// The sidecar's HTTP application: three faces, each a Koa app with its own middleware stack and its
// own error writer (http/mount.ts), handed requests by path here and nowhere else:
//   api/      the management API, for operators: every spelling of an /api path (api/api-path.ts)
//   devices/  the bootstrap, for devices: /auth/*, answered in the device byte format (devices/wire.ts)
//   http/ops  health, readiness and metrics, and the 404 for any other path
// One request never meets Koa: `POST /auth/bootstrap`, the one a whole fleet sends at once, is
// answered on the bare request by devices/fast-path.ts with the device face's steps and bytes.
import type { IncomingMessage, ServerResponse } from 'node:http'
import Koa from 'koa'
import { isApiPath } from './api/api-path.js'
import { apiFace } from './api/face.js'
import type { Sidecar } from './context.js'
import { bootstrapSteps } from './devices/bootstrap-route.js'
import { deviceFace } from './devices/face.js'
import { fastBootstrap } from './devices/fast-path.js'
import { isWirePath } from './devices/wire.js'
import { createLimits, type Limits } from './http/failure-limit.js'
import { mount } from './http/mount.js'
import { opsFace } from './http/ops.js'

export interface Faces {
  api: ReturnType<typeof apiFace>
  devices: ReturnType<typeof deviceFace>
  ops: ReturnType<typeof opsFace>
}

// Per client address, in this process's memory: failed authentications, unknown-device look-ups.
function limitsOf (sidecar: Sidecar): Limits {
  return createLimits(sidecar.config, sidecar.log, sidecar.metrics)
}

/** `steps`: the bootstrap's, given when the fast path shares them (createHandler). */
export function createFaces (sidecar: Sidecar, limits = limitsOf(sidecar), steps = bootstrapSteps(sidecar, limits.bootstrap)): Faces {
  return { api: apiFace(sidecar, limits.apiAuth), devices: deviceFace(sidecar, steps), ops: opsFace(sidecar) }
}

export function createApp (sidecar: Sidecar, faces = createFaces(sidecar)): Koa {
  const app = new Koa()
  // Only reached by failures after the answer started (a streamed download); each face's errors() answers the rest.
  app.on('error', (err: Error) => sidecar.log.error({ err }, 'response failed'))
  // First: every spelling of a management path needs the token, whatever else it looks like
  // (a bootstrap pays one string comparison here).
  app.use(mount(isApiPath, faces.api))
  app.use(mount(isWirePath, faces.devices))
  app.use(mount(() => true, faces.ops))
  return app
}

/** The servers' request handler: the bootstrap fast path, then the Koa app for everything else. */
export function createHandler (sidecar: Sidecar): (req: IncomingMessage, res: ServerResponse) => void {
  const limits = limitsOf(sidecar)
  // The device face's steps: one look-up limit, so a device guesser gains nothing by changing spelling.
  const steps = bootstrapSteps(sidecar, limits.bootstrap)
  const koa = createApp(sidecar, createFaces(sidecar, limits, steps)).callback()
  const fast = fastBootstrap(sidecar, steps)
  return (req, res) => {
    if (!fast(req, res)) void koa(req, res)
  }
}
