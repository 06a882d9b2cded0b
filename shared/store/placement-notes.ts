// Nearest access: a device's placement is noted beside its job record, not in it, so that the
// record's other writers (the runner, the old broker) cannot lose it; readers see both together.
import { RECORD_CODES } from '../records.js'
import type { JobRecord } from '../types.js'

const keyOf = (productKey: string, deviceName: string): string => `${productKey}/${deviceName}`

/** `notes` keyed by `pk/dn`. A note without a record yet (placed before the runner wrote it) reads as a success. */
export function withPlacementNotes (records: JobRecord[], notes: Map<string, string>): JobRecord[] {
  if (notes.size === 0) return records
  const left = new Map(notes)
  const out = records.map(r => {
    const note = left.get(keyOf(r.productKey, r.deviceName))
    if (note === undefined) return r
    left.delete(keyOf(r.productKey, r.deviceName))
    return { ...r, message: r.message === '' ? note : `${r.message}; ${note}` }
  })
  for (const [key, note] of left) {
    const slash = key.indexOf('/')
    out.push({ productKey: key.slice(0, slash), deviceName: key.slice(slash + 1), code: RECORD_CODES.success, message: note })
  }
  return out
}

export { keyOf as placementNoteKey }
