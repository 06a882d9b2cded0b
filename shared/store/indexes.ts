// The registry's device indexes (docs/architecture.md, "Indexes"): which listings and counts a
// device record belongs to, as a pure function of the record. Both backends keep the indexes from
// it; the Redis backend changes a record and its index entries in one script, so they never disagree.
import { createRequire } from 'node:module'
import { homesOf } from '../device.js'
import { DEVICE_STATUSES, deviceStatus, type DeviceStatus } from '../device-status.js'
import type { Device } from '../types.js'
import type { DeviceQuery } from './store.js'

// CRC16 of the name (the same function Redis Cluster uses for slots); the package ships no types.
const crc16Slot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number

/** A product's devices are spread over this many buckets; a listing or a count reads each once. */
export const BUCKETS = 16
export const ALL_BUCKETS = Array.from({ length: BUCKETS }, (_, b) => b)

/** The bucket of a device: a stable hash of its name. */
export function bucketOf (deviceName: string): number {
  return crc16Slot(deviceName) % BUCKETS
}

/**
 * An index of one product, by name (each is a sorted set of device names per bucket in Redis):
 * - `names`: every device of the product;
 * - `at:<instance>`: devices that live at the instance (assigned there, or one of its placement candidates);
 * - `at:<instance>:<status>`: the same, by status (shared/device-status.ts);
 * - `moved:<instance>`: devices a job has moved (`lastJobId` set) that live there, for GET /distribution/devices;
 *   one waiting among several candidates is in the first candidate's set only (a job's candidates are all
 *   of one account), so that an account's listing and count see it once;
 * - `away:<instance>`: devices created at the instance that live elsewhere now (a product with some cannot be deleted there).
 */
export type IndexName = string

export const namesIndex = 'names'
export function atIndex (instanceId: string, status?: DeviceStatus): IndexName {
  return status === undefined ? `at:${instanceId}` : `at:${instanceId}:${status}`
}
export function movedIndex (instanceId: string): IndexName { return `moved:${instanceId}` }
export function awayIndex (instanceId: string): IndexName { return `away:${instanceId}` }

/** The indexes counted by `countMarked`. */
export type Mark = 'moved' | 'away'
export function markIndex (mark: Mark, instanceId: string): IndexName {
  return mark === 'moved' ? movedIndex(instanceId) : awayIndex(instanceId)
}

/** Every index the record belongs to. */
export function indexEntries (device: Device): IndexName[] {
  const out = [namesIndex]
  const homes = homesOf(device)
  const status = deviceStatus(device)
  for (const home of homes) out.push(atIndex(home), atIndex(home, status))
  const first = homes[0]
  if (device.lastJobId !== null && first !== undefined) out.push(movedIndex(first))
  if (!homes.includes(device.originInstanceId)) out.push(awayIndex(device.originInstanceId))
  return out
}

/** What a write changes: entries to remove (in `before` only) and to add (in `after` only). */
export function indexDelta (before: Device | null, after: Device | null): { remove: IndexName[], add: IndexName[] } {
  const was = new Set(before === null ? [] : indexEntries(before))
  const is = new Set(after === null ? [] : indexEntries(after))
  return { remove: [...was].filter(i => !is.has(i)), add: [...is].filter(i => !was.has(i)) }
}

export { DEVICE_STATUSES }

/** The index a listing reads. */
export function queryIndex (q: Pick<DeviceQuery, 'instanceId' | 'status' | 'movedOnly'>): IndexName {
  if (q.instanceId === undefined) {
    if (q.status !== undefined || q.movedOnly === true) throw new RangeError('a listing by status or of moved devices needs an instanceId')
    return namesIndex
  }
  if (q.movedOnly === true) return movedIndex(q.instanceId)
  return atIndex(q.instanceId, q.status)
}

/** Device names are ASCII below 0x7f (shared/device.ts), so every name starting with `prefix` sorts below `prefix` + DEL. */
export const PREFIX_END = '\u007f'

/** Whether `name` falls in the query's range: after `after`, starting with `prefix`. */
export function inRange (name: string, q: Pick<DeviceQuery, 'prefix' | 'after'>): boolean {
  return (q.after === undefined || name > q.after) && (q.prefix === undefined || name.startsWith(q.prefix))
}
