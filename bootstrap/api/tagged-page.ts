// A listing filtered by tag. Tags are free-form (up to 100 per device) and have no index: a page
// filtered by tag reads the listing by index a slice at a time and keeps the devices that carry the
// tag, reading at most TAG_SCAN_MAX devices for one page. `next` then continues where the read
// stopped, so a page costs at most that much however large the fleet is; a rare tag may take several
// pages to find, some of them empty.
import { z } from 'zod'
import type { DevicePage, DeviceQuery, Store } from '../../shared/store/store.js'
import type { Device } from '../../shared/types.js'

/** Devices read for one page of a tag filter, at most. */
export const TAG_SCAN_MAX = 5000
const SLICE = 500

export interface TagFilter { key: string, value?: string }

/** `key` or `key=value`, in the forms PUT .../tags accepts. */
export const tagQuery = z.string()
  .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,63}(=[^\p{Cc}]{1,128})?$/u, 'a tag key (a letter, then up to 63 letters, digits and _ . : -), optionally =value (1-128 printable characters)')
  .transform((raw): TagFilter => {
    const at = raw.indexOf('=')
    return at === -1 ? { key: raw } : { key: raw.slice(0, at), value: raw.slice(at + 1) }
  })

export function hasTag (device: Device, tag: TagFilter): boolean {
  if (!Object.hasOwn(device.tags, tag.key)) return false
  return tag.value === undefined || device.tags[tag.key] === tag.value
}

export async function taggedPage (store: Store, query: Omit<DeviceQuery, 'limit' | 'offset'>, tag: TagFilter, limit: number): Promise<DevicePage> {
  const devices: Device[] = []
  let after = query.after
  let read = 0
  for (;;) {
    const slice = await store.listDevices({ ...query, after, limit: SLICE })
    for (const [i, device] of slice.devices.entries()) {
      read++
      after = device.deviceName
      if (!hasTag(device, tag)) continue
      devices.push(device)
      if (devices.length === limit) {
        const last = i === slice.devices.length - 1 && slice.next === null
        return { devices, next: last ? null : after }
      }
    }
    if (slice.next === null) return { devices, next: null }
    after = slice.next
    if (read >= TAG_SCAN_MAX) return { devices, next: after }
  }
}
