// POST /auth/bootstrap (docs/protocol.md, "Bootstrap"): a device asks which broker it belongs to.
// The flow is four steps: parse -> find device -> place -> answer; then its timeline notes it.
// The first three work on the bare request, so that the same steps serve the Koa route below and
// the path that answers `POST /auth/bootstrap` before Koa sees it (fast-path.ts).
import type { IncomingMessage } from 'node:http'
import Router from '@koa/router'
import type { Context } from 'koa'
import { z } from 'zod'
import { clientAddress } from '../../shared/client-address.js'
import type { Logger } from '../../shared/log.js'
import { DEVICE_NAME, PRODUCT_KEY } from '../../shared/device.js'
import type { Topology } from '../../shared/config.js'
import type { Device, Instance } from '../../shared/types.js'
import { readRequestBody } from '../http/body.js'
import { validate } from '../http/validate.js'
import type { Sidecar } from '../context.js'
import type { FailureLimit } from '../http/failure-limit.js'
import { ApiError } from '../http/http-error.js'
import { EventQueue } from '../../shared/timeline.js'
import { nowOf } from '../clock.js'
import { DeviceLookups } from './lookups.js'
import { placeNearest } from './placement.js'
import { SDK_BODY_BUFFER, sendWireBody, wireBody, type WireSuccess } from './wire.js'

// docs/protocol.md, "Bootstrap": the fields the SDK sends; unknown fields are ignored (z.object, not strictObject).
const bootstrapForm = z.object({
  productKey: z.string().min(1).regex(PRODUCT_KEY, 'must be 4-32 letters and digits'),
  deviceName: z.string().min(1).regex(DEVICE_NAME, 'must be 4-32 characters: letters, digits and _ @ . : -'),
  clientId: z.string().min(1).max(64).optional(),
  version: z.string().optional(),
  // docs/protocol.md, "Bootstrap": never checked against a window (the C SDK sends the year 2050).
  timestamp: z.string().optional(),
  resources: z.string().optional()
})

export interface BootstrapRequest {
  productKey: string
  deviceName: string
  clientId: string | null
  /** Lower-cased names; `mqtt` when absent. */
  resources: string[]
}

/** A device placed: what the answer and the timeline need. */
export interface Placed {
  device: Device
  instance: Instance
  address: string | null
}

/** The steps, shared by the Koa route and the fast path (fast-path.ts), with their look-up limit, reads and timeline writes. */
export interface BootstrapSteps {
  /** Steps 1-3 on the bare request; an ApiError (or a store error) when the device gets no home. */
  place: (req: IncomingMessage) => Promise<Placed>
  /** Step 5, once the answer is written. */
  note: (placed: Placed) => void
}

/** `failures`: look-ups of unknown devices per client address; over the limit, 429 with Retry-After. */
export function bootstrapSteps (sidecar: Sidecar, failures?: FailureLimit): BootstrapSteps {
  warnOnLongAnswers(sidecar.topology, sidecar.log)
  const lookups = new DeviceLookups(sidecar.store)
  // Not waited for; the events of 10 ms go out in one pipelined write (shared/timeline.ts, EventQueue).
  const timeline = new EventQueue(sidecar.store, sidecar.log, () => {})
  return {
    place: async req => {
      const address = addressOf(req, sidecar)
      const request = await parse(req, sidecar)
      await failures?.check(address ?? 'unknown')
      const device = await findDevice(request, lookups, address, failures)
      const instance = await place(device, sidecar, address)
      return { device, instance, address }
    },
    note: placed => noteBootstrap(sidecar, timeline, placed)
  }
}

/** The Koa route: every spelling of the path but the exact one the fast path takes (fast-path.ts). */
export function bootstrapRoutes (steps: BootstrapSteps): Router {
  const router = new Router()
  router.post('/auth/bootstrap', async ctx => {
    const placed = await steps.place(ctx.req)
    answer(ctx, placed.instance)
    steps.note(placed)
  })
  return router
}

/** Step 1: the form body, content type with or without `;charset=`. */
async function parse (req: IncomingMessage, sidecar: Sidecar): Promise<BootstrapRequest> {
  const form = validate(bootstrapForm, await readRequestBody(req, { limit: sidecar.config.bootstrap.bodyLimit, accept: ['form'] }))
  const resources = (form.resources ?? 'mqtt').split(',').map(r => r.trim().toLowerCase()).filter(r => r !== '')
  return { productKey: form.productKey, deviceName: form.deviceName, clientId: form.clientId ?? null, resources }
}

/** Step 2: the device's record, refused while disabled; the body is unsigned and carries no secret, so nothing else is checked here. */
async function findDevice (request: BootstrapRequest, lookups: DeviceLookups, address: string | null, failures?: FailureLimit): Promise<Device> {
  const device = await lookups.get(request.productKey, request.deviceName)
  if (device === null) {
    // Only failures count: a whole fleet behind one address bootstraps however fast it likes.
    await failures?.failed(address ?? 'unknown')
    throw new ApiError(404, 'not_found', 'device not found')
  }
  // Before placement: a disabled device waiting for nearest placement is not placed either.
  if (!device.enabled) throw new ApiError(403, 'forbidden', 'device disabled')
  return device
}

/**
 * Step 3: the instance the device belongs to now. A device a nearest job left waiting is placed
 * here, once (docs/distribution.md, "Rule 7"); once placed it keeps that home on every later bootstrap.
 */
async function place (device: Device, sidecar: Sidecar, address: string | null): Promise<Instance> {
  const instanceId = device.instanceId ?? await placeNearest(device, address, sidecar)
  if (instanceId === null) throw new ApiError(404, 'not_found', 'device not distributed anywhere')
  const instance = sidecar.topology.instance(instanceId)
  if (instance === undefined) {
    sidecar.log.warn({ productKey: device.productKey, deviceName: device.deviceName, instanceId }, 'device assigned to an instance the config does not declare')
    throw new ApiError(404, 'not_found', 'device not distributed anywhere')
  }
  return instance
}

/** The device's public address: the socket peer, or behind a trusted proxy the X-Forwarded-For client. */
function addressOf (req: IncomingMessage, sidecar: Sidecar): string | null {
  return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], sidecar.config.bootstrap.trustProxy)
}

/** Step 4: docs/protocol.md, "Bootstrap", mqtt first (the SDK takes the first "host" and "port"), `ip` beside them when configured. */
function answer (ctx: Context, instance: Instance): void {
  sendWireBody(ctx, 200, successBody(instance))
}

/** Each instance's answer, made once: a fleet's bootstraps to one instance all read the same bytes. */
const answers = new WeakMap<Instance, Buffer>()

export function successBody (instance: Instance): Buffer {
  let body = answers.get(instance)
  if (body === undefined) answers.set(instance, body = wireBody(success(instance)))
  return body
}

function success (instance: Instance): WireSuccess {
  const { host, port, ip } = instance.endpoint
  return { code: 200, data: { resources: { mqtt: ip === undefined ? { host, port } : { host, port, ip } } }, message: 'success' }
}

/** Step 5: the device's timeline, not waited for (the answer is already on its way). */
function noteBootstrap (sidecar: Sidecar, timeline: EventQueue, { device, instance, address }: Placed): void {
  const { host, port } = instance.endpoint
  timeline.add(device.productKey, device.deviceName, { kind: 'bootstrapped', at: nowOf(sidecar), instanceId: instance.id, region: instance.region, address, endpoint: { host, port } })
}

/** docs/protocol.md, "Bootstrap": keep the body under the SDK's buffer where possible; say so at start when an endpoint cannot. */
function warnOnLongAnswers (topology: Topology, log: Logger): void {
  for (const instance of topology.instances.values()) {
    const length = wireBody(success(instance)).length
    if (length >= SDK_BODY_BUFFER) {
      log.warn({ instanceId: instance.id, bytes: length }, `bootstrap answer for this instance is ${length} bytes: Link SDK devices need a receive buffer above the default ${SDK_BODY_BUFFER}`)
    }
  }
}
