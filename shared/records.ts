// The per-device lines of a job's records CSV (productKey,deviceName,code,message): written by the
// job runner when it moves a device, completed by the old broker once it has told the device.

export const RECORD_CODES = {
  success: 'success',
  pending: 'pending',
  deviceNotFound: 'device_not_found',
  notAtSource: 'not_at_source',
  failed: 'failed'
} as const
export type RecordCode = typeof RECORD_CODES[keyof typeof RECORD_CODES]

/** What happened to an online device at its old broker (docs/protocol.md, "Notify and reply"). */
export interface KickReport {
  /** Whether the device held a connection at the source instance when the move reached the broker. */
  online: boolean
  notified: boolean
  answered: boolean
  disconnected: boolean
}

/** The message of a successful move, e.g. `moved to iot-b; online; notified; answered; disconnected`. */
export function moveMessage (to: string, kick: KickReport | null): string {
  const parts = [`moved to ${to}`]
  if (kick === null) return parts.join('; ')
  if (!kick.online) return [...parts, 'offline'].join('; ')
  parts.push('online')
  if (kick.notified) parts.push('notified')
  parts.push(kick.answered ? 'answered' : 'no answer')
  if (kick.disconnected) parts.push('disconnected')
  return parts.join('; ')
}
