// Making a new device record (the certificate and its first assignment).
import { newSecret } from './sign.js'
import type { Device } from './types.js'

export function newDevice (productKey: string, deviceName: string, instanceId: string, now = Date.now(), deviceSecret = newSecret()): Device {
  return {
    productKey,
    deviceName,
    deviceSecret,
    originInstanceId: instanceId,
    instanceId,
    candidates: null,
    enabled: true,
    tags: {},
    online: null,
    runtime: {},
    createdAt: now,
    lastJobId: null,
    placement: null
  }
}

/** Alibaba's DeviceName rule: 4-32 characters of letters, digits and - _ @ . : */
export const DEVICE_NAME = /^[A-Za-z0-9_@.:-]{4,32}$/
/** ProductKeys as Alibaba prints them: letters and digits, 4-32. */
export const PRODUCT_KEY = /^[A-Za-z0-9]{4,32}$/

/** Where a device lives now: its assigned instance, or while it waits for nearest placement, its candidates. */
export function homesOf (device: Device): string[] {
  if (device.instanceId !== null) return [device.instanceId]
  return (device.candidates ?? []).map(c => c.instanceId)
}
