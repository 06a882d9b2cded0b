// docs/protocol.md, "Notify and reply": the Alink JSON messages of the redistribution notify.
import { randomInt } from 'node:crypto'

/** A fresh Alink message id: a decimal string in 0..4294967295. */
export function newMessageId (): string {
  return String(randomInt(0, 2 ** 32))
}

/** Compact JSON, fields in the order the SDKs print them. */
export function notifyPayload (id: string): string {
  return `{"id":"${id}","version":"1.0","method":"thing.bootstrap.notify","params":{"cmd":0}}`
}

export function notifyReplyPayload (id: string): string {
  return `{"id":"${id}","code":200,"data":{}}`
}

/** The id of a notify or notify_reply message, or null when the payload is not one. */
export function messageId (payload: Buffer | string): string | null {
  try {
    const parsed: unknown = JSON.parse(payload.toString())
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed) {
      const id = (parsed as { id: unknown }).id
      if (typeof id === 'string' || typeof id === 'number') return String(id)
    }
  } catch {}
  return null
}
