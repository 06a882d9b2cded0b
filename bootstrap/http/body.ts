// Request bodies: read from the stream by hand (no dependency: a size limit, two content types and
// strict UTF-8 and a nesting limit are all we need), then validated with the route's schema.
//   413 larger than the limit (by Content-Length before reading, or while reading: the rest is
//       never read nor kept, and the answer closes the connection),
//   415 a content type or charset the route does not take, 400 bytes that are not what they claim.
import type { IncomingMessage } from 'node:http'
import type { Context } from 'koa'
import type { z } from 'zod'
import { badRequest, tooLarge, unsupportedType } from './http-error.js'
import { validate } from './validate.js'

export type BodyKind = 'json' | 'form'

const MEDIA_TYPES: Record<BodyKind, string> = {
  json: 'application/json',
  form: 'application/x-www-form-urlencoded'
}

export interface BodyOptions {
  /** Largest body accepted, in bytes (config `bootstrap.bodyLimit`). */
  limit: number
  /** Content types the route takes; an empty body with no content type reads as `{}`. */
  accept: BodyKind[]
}

/** Reads, decodes and validates the body with the route's one schema. */
export async function parseBody<S extends z.ZodType> (ctx: Context, schema: S, options: BodyOptions): Promise<z.output<S>> {
  return validate(schema, await readBody(ctx, options))
}

export async function readBody (ctx: Context, options: BodyOptions): Promise<unknown> {
  return readRequestBody(ctx.req, options)
}

/** readBody on the bare request, for a path Koa never sees (devices/fast-path.ts). */
export async function readRequestBody (req: IncomingMessage, options: BodyOptions): Promise<unknown> {
  const kind = bodyKind(req.headers['content-type'] ?? '', options.accept)
  const raw = await readRaw(req, options.limit)
  if (kind === null) {
    if (raw.length > 0) throw unsupportedType(`Content-Type is required: ${expected(options.accept)}`)
    return {}
  }
  const text = decodeUtf8(raw)
  return kind === 'json' ? parseJson(text) : parseForm(text)
}

function expected (accept: BodyKind[]): string {
  return accept.map(k => MEDIA_TYPES[k]).join(' or ')
}

/** The route's body kind for this request's Content-Type (with or without `;charset=`), or null when absent. */
function bodyKind (header: string, accept: BodyKind[]): BodyKind | null {
  if (header === '') return null
  const [type = '', ...params] = header.split(';').map(p => p.trim())
  const kind = accept.find(k => MEDIA_TYPES[k] === type.toLowerCase())
  if (kind === undefined) throw unsupportedType(`Content-Type must be ${expected(accept)}`)
  for (const param of params) {
    const [name = '', value = ''] = param.split('=', 2).map(s => s.trim())
    if (name.toLowerCase() !== 'charset') continue
    const charset = value.replace(/^"|"$/g, '').toLowerCase()
    if (charset !== 'utf-8' && charset !== 'utf8') throw unsupportedType(`charset "${charset}" is not supported: use utf-8`)
  }
  return kind
}

function readRaw (req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > limit) return Promise.reject(tooLarge(limit))
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const stop = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      // The rest is left unread: the error answer closes the connection (errors.ts).
      if (size > limit) {
        stop()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      stop()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (): void => {
      stop()
      reject(badRequest('request body could not be read'))
    }
    const onClose = (): void => {
      if (!req.readableEnded) onError()
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function decodeUtf8 (raw: Buffer): string {
  try {
    return utf8.decode(raw)
  } catch {
    throw badRequest('body is not valid UTF-8')
  }
}

/** Deepest nesting of arrays and objects a JSON body may have (a TSL model needs a handful). */
export const MAX_JSON_DEPTH = 64

function parseJson (text: string): unknown {
  if (text.trim() === '') throw badRequest('body is empty: expected JSON')
  if (nesting(text) > MAX_JSON_DEPTH) throw badRequest(`body nests deeper than ${MAX_JSON_DEPTH} levels`)
  try {
    return JSON.parse(text)
  } catch {
    throw badRequest('body is not valid JSON')
  }
}

/**
 * How deep the text's arrays and objects nest, read before parsing (one pass, no recursion) so that
 * nothing downstream (validation, storage, serialisation) ever walks a value deeper than the limit.
 */
function nesting (text: string): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) {
      inString = true
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > deepest) deepest = depth
    } else if (c === 0x7d || c === 0x5d) {
      depth--
    }
  }
  return deepest
}

/** The first value of each name; the entries are own properties even for names like `__proto__`. */
function parseForm (text: string): Record<string, string> {
  const first = new Map<string, string>()
  for (const [name, value] of new URLSearchParams(text)) {
    if (!first.has(name)) first.set(name, value)
  }
  return Object.fromEntries(first)
}
