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

/**
 * Alink codes the broker answers a thing-model post with (Alibaba Cloud IoT Platform's documented
 * device-side codes, docs/devices.md "Replies"): 200 success, 460 request parameter error.
 */
export const ALINK_OK = 200
export const ALINK_PARAM_ERROR = 460

/** Bounds on what is echoed back: an Alink id is a decimal string of at most 10 digits in practice. */
const MAX_ID = 64
const MAX_METHOD = 128

/** A thing-model request as the broker reads it: the id and method to echo, and the code to answer. */
export interface AlinkRequest {
  id: string
  method: string
  code: typeof ALINK_OK | typeof ALINK_PARAM_ERROR
}

/**
 * Reads a thing-model post (`{"id","version","params","method"}`); never throws. `expectedMethod`
 * is answered when the body names none. `params` must be an object (an array for deviceinfo).
 */
export function readRequest (payload: Buffer | string, expectedMethod: string): AlinkRequest {
  const refused = (id: string): AlinkRequest => ({ id, method: expectedMethod, code: ALINK_PARAM_ERROR })
  let parsed: unknown
  try {
    parsed = JSON.parse(payload.toString())
  } catch {
    return refused('')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return refused('')
  const body = parsed as Record<string, unknown>
  const rawId = body.id
  const id = typeof rawId === 'string' || (typeof rawId === 'number' && Number.isFinite(rawId)) ? String(rawId) : ''
  if (id === '' || id.length > MAX_ID) return refused(id.length > MAX_ID ? '' : id)
  const method = typeof body.method === 'string' && body.method !== '' && body.method.length <= MAX_METHOD ? body.method : expectedMethod
  if (typeof body.params !== 'object' || body.params === null) return refused(id)
  return { id, method, code: ALINK_OK }
}

/** The platform's reply: compact, fields in the order the platform sends them. */
export function replyPayload (request: AlinkRequest): string {
  return JSON.stringify({
    id: request.id,
    code: request.code,
    data: {},
    message: request.code === ALINK_OK ? 'success' : 'request parameter error',
    version: '1.0',
    method: request.method
  })
}
