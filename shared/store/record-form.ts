// How a job record is stored (both backends): the record with its move's stage as data, and the
// message derived from it kept alongside for readers of the raw registry. Records written before the
// stage existed carry only code and message: reading one upgrades it, by reading its stage off the
// message the runner and the brokers wrote then (the one place a message is ever parsed).
import { z } from 'zod'
import { moveMessage, NEAREST_LABEL, RECORD_CODES } from '../records.js'
import type { JobRecord, MoveProgress } from '../types.js'

const kickSchema = z.object({ notified: z.boolean(), answered: z.boolean(), disconnected: z.boolean() })
const moveSchema = z.object({
  stage: z.enum(['moved', 'offline', 'kicked', 'placed']),
  to: z.string().nullable(),
  kick: kickSchema.optional(),
  placement: z.string().optional()
})
const recordSchema = z.object({
  productKey: z.string(),
  deviceName: z.string(),
  code: z.string(),
  message: z.string().optional(),
  move: moveSchema.optional()
})

/** The stored form: `announced` lives in a set of its own (see `MoveProgress.announced`), placement notes too. */
export function storedRecord (record: JobRecord): string {
  const { productKey, deviceName, code } = record
  if (record.move === undefined) return JSON.stringify({ productKey, deviceName, code, message: record.message })
  const { stage, to, kick } = record.move
  const move: MoveProgress = kick === undefined ? { stage, to } : { stage, to, kick }
  return JSON.stringify({ productKey, deviceName, code, message: moveMessage(move), move })
}

/** A stored record, of either form; null when it is not one at all (it is then left out). */
export function readRecord (raw: string): JobRecord | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return null
  }
  const result = recordSchema.safeParse(parsed)
  if (!result.success) return null
  const { productKey, deviceName, code, message, move } = result.data
  if (move !== undefined) {
    const progress: MoveProgress = { stage: move.stage, to: move.to }
    if (move.kick !== undefined) progress.kick = move.kick
    return { productKey, deviceName, code, message: moveMessage(progress), move: progress }
  }
  const legacy = code === RECORD_CODES.success ? legacyMove(message ?? '') : null
  if (legacy === null) return { productKey, deviceName, code, message: message ?? '' }
  return { productKey, deviceName, code, message: moveMessage(legacy), move: legacy }
}

// `moved to <to>`, then `; offline`, or `; online[; notified]; answered|no answer[; disconnected]`.
const LEGACY = /^moved to ([^;]+)(?:; (offline)|; online(; notified)?; (answered|no answer)(; disconnected)?)?$/

/** The stage of a record written before stages were stored, read off its message. */
export function legacyMove (message: string): MoveProgress | null {
  const m = LEGACY.exec(message)
  if (m === null) return null
  const to = m[1] === NEAREST_LABEL ? null : (m[1] as string)
  if (m[2] !== undefined) return { stage: 'offline', to }
  if (m[4] === undefined) return { stage: 'moved', to }
  return { stage: 'kicked', to, kick: { notified: m[3] !== undefined, answered: m[4] === 'answered', disconnected: m[5] !== undefined } }
}
