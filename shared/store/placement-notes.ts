// Nearest access: a device's placement is noted beside its job record, not in it, so that the
// record's other writers (the runner, the old broker) cannot lose it; readers see both together.
// The runner's "move event published" marks are kept beside the records the same way.
import { moveMessage, moveRecord } from '../records.js'
import type { JobRecord, MoveProgress } from '../types.js'

const keyOf = (productKey: string, deviceName: string): string => `${productKey}/${deviceName}`

/** `notes` keyed by `pk/dn`. A note without a record yet (placed before the runner wrote it) reads as a success. */
export function withPlacementNotes (records: JobRecord[], notes: Map<string, string>): JobRecord[] {
  if (notes.size === 0) return records
  const left = new Map(notes)
  const out = records.map(r => {
    const note = left.get(keyOf(r.productKey, r.deviceName))
    if (note === undefined) return r
    left.delete(keyOf(r.productKey, r.deviceName))
    if (r.move === undefined) return { ...r, message: [r.message, note].filter(part => part !== '').join('; ') }
    const move: MoveProgress = { ...r.move, placement: note }
    return { ...r, message: moveMessage(move), move }
  })
  for (const [key, note] of left) {
    const slash = key.indexOf('/')
    out.push(moveRecord(key.slice(0, slash), key.slice(slash + 1), { stage: 'placed', to: null, placement: note }))
  }
  return out
}

/** `announced` holds `pk/dn` of the devices whose move event the runner has published. */
export function withAnnouncements (records: JobRecord[], announced: Set<string>): JobRecord[] {
  if (announced.size === 0) return records
  return records.map(r => r.move !== undefined && announced.has(keyOf(r.productKey, r.deviceName))
    ? { ...r, move: { ...r.move, announced: true } }
    : r)
}

export { keyOf as placementNoteKey }
