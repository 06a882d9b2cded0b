// The multipart/form-data form of a job request: text fields for the job, one CSV file for its devices.
import type { IncomingMessage } from 'node:http'
import busboy from 'busboy'
import { ApiError, badRequest, tooLarge } from '../http/http-error.js'

export interface Upload {
  fields: Record<string, string>
  /** The CSV file's text. */
  csv: string
}

const FIELDS = new Set(['method', 'policy', 'sourceInstanceId', 'productKey', 'targetInstanceId', 'targets', 'targetAccount', 'verificationCode',
  'rate', 'waveSize', 'wavePauseSeconds', 'settleTimeoutSeconds'])

/** Form fields that are numbers in a JSON body: a text that is not a plain number stays text, and the job schema refuses it. */
const NUMBERS = ['rate', 'waveSize', 'wavePauseSeconds', 'settleTimeoutSeconds']

/**
 * The form's fields as a job body: `targets` (nearest access) is the one that is not a string, sent as
 * JSON text, e.g. `[{"region":"eu-central-1","instanceId":"iot-de-1"}]`; the job schema checks its shape.
 */
export function formFields (fields: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...fields }
  for (const name of NUMBERS) {
    const text = fields[name]
    if (text !== undefined && /^\d{1,9}(\.\d{1,6})?$/.test(text)) out[name] = Number(text)
  }
  if (fields.targets === undefined) return out
  try {
    return { ...out, targets: JSON.parse(fields.targets) as unknown }
  } catch {
    throw badRequest('form field "targets" must be JSON: [{"region":"...","instanceId":"..."}, ...]', 'targets')
  }
}

export const isMultipart = (contentType: string | undefined): boolean => /^multipart\/form-data\b/i.test(contentType ?? '')

/**
 * Reads the whole form, at most `limit` bytes of it (counted as they arrive, so a huge upload is
 * refused after `limit` bytes, not at its end); refuses a form without exactly one file. Every parser
 * or stream error is a 400; the promise settles once, whatever the client sends or stops sending.
 */
export async function readUpload (req: IncomingMessage, limit: number): Promise<Upload> {
  if (Number(req.headers['content-length']) > limit) throw tooLarge(limit)
  let parser: busboy.Busboy
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: limit, fields: FIELDS.size, fieldSize: 1024, parts: FIELDS.size + 1 } })
  } catch (err) {
    throw badRequest(`malformed multipart body: ${(err as Error).message}`)
  }
  return new Promise<Upload>((resolve, reject) => {
    const fields: Record<string, string> = {}
    const chunks: Buffer[] = []
    let files = 0
    let received = 0
    let settled = false
    let problem: ApiError | null = null
    const fail = (err: ApiError): void => { problem ??= err }
    // Stops reading at once: the rest of the body stays unread and the error answer closes the connection (bootstrap/http/errors.ts).
    const finish = (err: ApiError | null): void => {
      if (settled) return
      settled = true
      req.off('data', count)
      req.off('close', onClose)
      req.unpipe(parser)
      if (err !== null) {
        chunks.length = 0
        parser.destroy()
        reject(err)
        return
      }
      if (problem !== null) return reject(problem)
      if (files === 0) return reject(badRequest('the form has no CSV file', 'file'))
      resolve({ fields, csv: Buffer.concat(chunks).toString('utf8') })
    }
    const count = (chunk: Buffer): void => {
      received += chunk.length
      if (received > limit) finish(tooLarge(limit))
    }
    const onClose = (): void => { if (!req.complete) finish(badRequest('request body could not be read')) }
    const malformed = (err: Error): void => { finish(badRequest(`malformed multipart body: ${err.message}`)) }

    parser.on('field', (name, value, info) => {
      if (!FIELDS.has(name)) fail(badRequest(`unknown form field "${name}"`, name))
      else if (info.valueTruncated) fail(badRequest(`form field "${name}" is too long`, name))
      else fields[name] = value
    })
    parser.on('file', (_name, stream) => {
      files++
      stream.on('data', (chunk: Buffer) => { if (!settled) chunks.push(chunk) })
      stream.on('limit', () => { fail(tooLarge(limit)) })
      // busboy ends a file part cut short (`Unexpected end of form`) with an error on the file stream.
      stream.on('error', malformed)
    })
    parser.on('filesLimit', () => { fail(badRequest('send one CSV file per job', 'file')) })
    parser.on('fieldsLimit', () => { fail(badRequest('too many form fields')) })
    parser.on('partsLimit', () => { fail(badRequest('too many form parts')) })
    parser.on('error', malformed)
    parser.on('close', () => { finish(null) })
    req.on('data', count)
    req.on('close', onClose)
    req.pipe(parser)
  })
}
