// Where a device lives in Redis (docs/architecture.md, "Keys and slots"). A product's devices are
// spread over BUCKETS hash tags `{<pk>#<bucket>}`; a device's record and the index sets of its
// bucket share that tag, so one script changes the record and its index entries together, on a
// Cluster too. ProductKeys and device names cannot contain `{`, `}` or `#` (shared/device.ts), so
// the tag is always exactly `<pk>#<bucket>`.
import { bucketOf, type IndexName } from './indexes.js'

export function deviceTag (productKey: string, bucket: number): string {
  return `{${productKey}#${bucket}}`
}

/** The one key of a device's record. */
export function deviceKey (prefix: string, productKey: string, deviceName: string): string {
  return `${prefix}device:${deviceTag(productKey, bucketOf(deviceName))}${deviceName}`
}

/** One bucket of an index: a sorted set of device names, all at score 0 (ordered by name). */
export function indexKey (prefix: string, productKey: string, bucket: number, index: IndexName): string {
  return `${prefix}ix:${deviceTag(productKey, bucket)}:${index}`
}

/** The key a device had before buckets (`homing registry reindex` moves it). */
export function legacyDeviceKey (prefix: string, productKey: string, deviceName: string): string {
  return `${prefix}device:{${productKey}/${deviceName}}`
}

/**
 * A device's timeline (capped event log), under its record's hash tag. Its own key word, not a suffix
 * of the record's key: device names may contain ':', so `<record key>:events` could be another device's record.
 */
export function deviceEventsKey (prefix: string, productKey: string, deviceName: string): string {
  return `${prefix}timeline:${deviceTag(productKey, bucketOf(deviceName))}${deviceName}`
}
