// The per-device lines of a job's records CSV (productKey,deviceName,code,message): written by the
// job runner when it moves a device, completed by the old broker once it has told the device. A moved
// device's record keeps its move's stage as data (`JobRecord.move`); its message is derived from it here
// and nowhere else, and nothing decides anything by reading a message.
import type { JobRecord, KickProgress, MoveProgress } from './types.js'

export const RECORD_CODES = {
  success: 'success',
  pending: 'pending',
  deviceNotFound: 'device_not_found',
  notAtSource: 'not_at_source',
  failed: 'failed'
} as const
export type RecordCode = typeof RECORD_CODES[keyof typeof RECORD_CODES]

/** What the records call the destination of a nearest-access job: `moved to nearest placement`. */
export const NEAREST_LABEL = 'nearest placement'

/** What happened to an online device at its old broker (docs/protocol.md, "Notify and reply"). */
export interface KickReport extends KickProgress {
  /** Whether the device held a connection at the source instance when the move reached the broker. */
  online: boolean
}

/**
 * The message of a successful move, e.g. `moved to iot-b; online; notified; answered; disconnected`,
 * `moved to nearest placement; offline; placed at iot-de-1 (eu-central-1), nearest to 81.2.69.142`.
 */
export function moveMessage (move: MoveProgress): string {
  const parts = move.stage === 'placed' ? [] : [`moved to ${move.to ?? NEAREST_LABEL}`]
  if (move.stage === 'offline') parts.push('offline')
  if (move.stage === 'kicked') {
    const kick = move.kick ?? { notified: false, answered: false, disconnected: false }
    parts.push('online')
    if (kick.notified) parts.push('notified')
    parts.push(kick.answered ? 'answered' : 'no answer')
    if (kick.disconnected) parts.push('disconnected')
  }
  if (move.placement !== undefined) parts.push(move.placement)
  return parts.join('; ')
}

/** The record of a moved device, its message derived from its stage. */
export function moveRecord (productKey: string, deviceName: string, move: MoveProgress): JobRecord {
  return { productKey, deviceName, code: RECORD_CODES.success, message: moveMessage(move), move }
}

/** The record the old broker writes once it has kicked a device it held (`report.online` is true). */
export function kickedRecord (productKey: string, deviceName: string, to: string | null, report: KickReport): JobRecord {
  const kick = { notified: report.notified, answered: report.answered, disconnected: report.disconnected }
  return moveRecord(productKey, deviceName, { stage: 'kicked', to, kick })
}

/**
 * Whether the runner still owes this device its move event: it moved it (or a bootstrap placed it) and
 * has not published the event yet. A broker that kicked the device had the event.
 */
export function awaitsAnnouncement (record: JobRecord): boolean {
  const move = record.move
  return record.code === RECORD_CODES.success && move !== undefined && move.stage !== 'kicked' && move.announced !== true
}
