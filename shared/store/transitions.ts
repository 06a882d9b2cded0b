// How a device record changes, as pure functions. Both backends apply these atomically: the memory
// store directly, the Redis store by compare-and-set on the device's one key.
import type { Candidate, Device, Runtime } from '../types.js'
import type { ConnectedInfo, ConnectedOutcome, EnabledOutcome, MoveOutcome, PlaceOutcome } from './store.js'

/** `next` is the record to write, or null to leave it as it is. */
export interface Transition<O> {
  next: Device | null
  outcome: O
}

export function emptyRuntime (): Runtime {
  return { active: false, firstConnectAt: null, lastConnectAt: null, lastDisconnectAt: null, lastAddress: null, properties: null }
}

function withRuntime (device: Device, instanceId: string, patch: Partial<Runtime>): Device['runtime'] {
  return { ...device.runtime, [instanceId]: { ...(device.runtime[instanceId] ?? emptyRuntime()), ...patch } }
}

export function connected (device: Device, info: ConnectedInfo): Transition<ConnectedOutcome> {
  if (device.instanceId !== info.instanceId) return { next: null, outcome: { result: 'not-assigned', device } }
  // Disabled between authentication's read and this write: the disable's disconnect may already have passed this node.
  if (!device.enabled) return { next: null, outcome: { result: 'disabled', device } }
  const before = device.runtime[info.instanceId] ?? emptyRuntime()
  const next: Device = {
    ...device,
    online: { nodeId: info.nodeId, session: info.session, since: info.at },
    // docs/distribution.md, "Rule 5": the first successful CONNECT at an instance activates the device there.
    runtime: withRuntime(device, info.instanceId, {
      active: true,
      firstConnectAt: before.firstConnectAt ?? info.at,
      lastConnectAt: info.at,
      lastAddress: info.address
    })
  }
  return { next, outcome: { result: 'ok', device: next, firstConnect: !before.active, replaced: device.online } }
}

/** The outcome: whether the mark is cleared (false: another session holds it, or none does). */
export function disconnected (device: Device, session: string, at: number): Transition<boolean> {
  if (device.online?.session !== session) return { next: null, outcome: false }
  const instanceId = device.instanceId
  const runtime = instanceId === null ? device.runtime : withRuntime(device, instanceId, { lastDisconnectAt: at })
  return { next: { ...device, online: null, runtime }, outcome: true }
}

export function propertiesPosted (device: Device, instanceId: string, payload: string): Transition<null> {
  return { next: { ...device, runtime: withRuntime(device, instanceId, { properties: payload }) }, outcome: null }
}

export function tagged (device: Device, tags: Record<string, string>): Transition<Device> {
  const next = { ...device, tags }
  return { next, outcome: next }
}

/** docs/distribution.md, "Rule 2", 4, 5: new assignment, tags cleared, inactive at the destination. */
export function moved (device: Device, move: { from: string, to: string, jobId: string }): Transition<MoveOutcome> {
  if (device.lastJobId === move.jobId && device.instanceId === move.to) return { next: null, outcome: { result: 'already', device } }
  if (device.instanceId !== move.from) return { next: null, outcome: { result: 'not-at-source', device } }
  const next: Device = {
    ...device,
    instanceId: move.to,
    candidates: null,
    tags: {},
    lastJobId: move.jobId,
    placement: null,
    runtime: withRuntime(device, move.to, { active: false })
  }
  return { next, outcome: { result: 'moved', device: next, wasOnline: device.online } }
}

/** docs/distribution.md, "Rule 7": under nearest access the device leaves its instance and waits for placement. */
export function awaitingPlacement (device: Device, move: { from: string, candidates: Candidate[], jobId: string }): Transition<MoveOutcome> {
  if (device.lastJobId === move.jobId && device.instanceId === null) return { next: null, outcome: { result: 'already', device } }
  if (device.instanceId !== move.from) return { next: null, outcome: { result: 'not-at-source', device } }
  const next: Device = {
    ...device,
    instanceId: null,
    candidates: move.candidates,
    tags: {},
    lastJobId: move.jobId,
    placement: null
  }
  return { next, outcome: { result: 'moved', device: next, wasOnline: device.online } }
}

export function placed (device: Device, placement: NonNullable<Device['placement']>): Transition<PlaceOutcome> {
  if (device.instanceId !== null || device.candidates === null) return { next: null, outcome: { result: 'kept', device } }
  const next: Device = {
    ...device,
    instanceId: placement.instanceId,
    candidates: null,
    placement,
    runtime: withRuntime(device, placement.instanceId, { active: false })
  }
  return { next, outcome: { result: 'placed', device: next } }
}

/**
 * Disable and enable are idempotent: asking for the state the device is in writes nothing. Only
 * while the device lives at `instanceId` (assigned, or a nearest-placement candidate): the caller
 * checked that this instance is its own, and the device may have moved since.
 */
export function disabled (device: Device, instanceId: string): Transition<EnabledOutcome> {
  return withEnabled(device, instanceId, false)
}

export function enabled (device: Device, instanceId: string): Transition<EnabledOutcome> {
  return withEnabled(device, instanceId, true)
}

function withEnabled (device: Device, instanceId: string, enabled: boolean): Transition<EnabledOutcome> {
  const here = device.instanceId === null ? device.candidates?.some(c => c.instanceId === instanceId) === true : device.instanceId === instanceId
  if (!here) return { next: null, outcome: { result: 'not-here', device } }
  if (device.enabled === enabled) return { next: null, outcome: { result: 'unchanged', device } }
  const next: Device = { ...device, enabled }
  return { next, outcome: { result: 'changed', device: next } }
}
