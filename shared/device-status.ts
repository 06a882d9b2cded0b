// A device's status at the instance it is assigned to, as the management API shows it and the
// registry's indexes count it (Alibaba's statuses: never connected here, online, offline, disabled).
import type { Device } from './types.js'

export const DEVICE_STATUSES = ['online', 'offline', 'inactive', 'disabled'] as const
export type DeviceStatus = typeof DEVICE_STATUSES[number]

/** While it waits for nearest placement a device is at no instance yet: inactive (or disabled) at each candidate. */
export function deviceStatus (device: Device): DeviceStatus {
  if (!device.enabled) return 'disabled'
  const at = device.instanceId
  if (at === null) return 'inactive'
  if (device.online !== null) return 'online'
  return device.runtime[at]?.active === true ? 'offline' : 'inactive'
}
