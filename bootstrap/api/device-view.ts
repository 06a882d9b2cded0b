// What the management API shows of a device. The secret is not part of it: it is returned when the
// device is created and on an explicit certificate request, so listings and logs never carry it.
import { deviceStatus, type DeviceStatus } from '../../shared/device-status.js'
import type { Device } from '../../shared/types.js'

export type { DeviceStatus }

export interface DeviceView {
  productKey: string
  deviceName: string
  /** The instance the device belongs to now (null while it waits for nearest placement). */
  instanceId: string | null
  /** Where it was created, when that instance is the caller's (docs/distribution.md, "Rule 11": only there can it be deleted). */
  originInstanceId: string | null
  /** True when the device lives away from where it was created. */
  distributed: boolean
  candidates: Device['candidates']
  /** Alibaba's statuses: never connected at this instance, online, offline, disabled. */
  status: DeviceStatus
  enabled: boolean
  /** docs/distribution.md, "Rule 5": activated by its first successful CONNECT at the assigned instance. */
  active: boolean
  online: boolean
  onlineSince: number | null
  firstConnectAt: number | null
  lastConnectAt: number | null
  lastDisconnectAt: number | null
  ipAddress: string | null
  tags: Record<string, string>
  createdAt: number
  placement: Device['placement']
  /**
   * docs/distribution.md, "Rule 4": the last posted properties (`params` of thing.event.property.post) kept
   * as runtime data by each of the caller's instances the device has posted at, by instance id: a device
   * that comes back to an instance finds them again.
   */
  properties: Record<string, unknown>
}

/** `owns` says whether an instance is the caller's (another account's instance ids are not shown). */
export function deviceView (device: Device, owns: (instanceId: string) => boolean): DeviceView {
  const at = device.instanceId
  const runtime = at === null ? undefined : device.runtime[at]
  const online = at !== null && device.online !== null
  const active = runtime?.active ?? false
  const status = deviceStatus(device)
  return {
    productKey: device.productKey,
    deviceName: device.deviceName,
    instanceId: at,
    originInstanceId: owns(device.originInstanceId) ? device.originInstanceId : null,
    distributed: at !== device.originInstanceId,
    candidates: device.candidates,
    status,
    enabled: device.enabled,
    active,
    online,
    onlineSince: online ? device.online?.since ?? null : null,
    firstConnectAt: runtime?.firstConnectAt ?? null,
    lastConnectAt: runtime?.lastConnectAt ?? null,
    lastDisconnectAt: runtime?.lastDisconnectAt ?? null,
    ipAddress: runtime?.lastAddress ?? null,
    tags: device.tags,
    createdAt: device.createdAt,
    placement: device.placement,
    properties: propertiesOf(device, owns)
  }
}

function propertiesOf (device: Device, owns: (instanceId: string) => boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [instanceId, runtime] of Object.entries(device.runtime)) {
    if (runtime.properties === null || !owns(instanceId)) continue
    out[instanceId] = postedParams(runtime.properties)
  }
  return out
}

/** The `params` of a stored property post; the raw text when it is not an Alink request. */
function postedParams (payload: string): unknown {
  try {
    const parsed: unknown = JSON.parse(payload)
    if (typeof parsed === 'object' && parsed !== null && 'params' in parsed) return (parsed as { params: unknown }).params
  } catch {}
  return payload
}
