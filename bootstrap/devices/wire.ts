// docs/protocol.md, "Bootstrap": how an answer to a device's bootstrap request goes on the wire. The Link SDK's reader
// is strict, so every answer on the device face, /auth/* (success or error), is written here and only here.
import type { ServerResponse } from 'node:http'
import type { Context } from 'koa'
import type { ErrorWriter } from '../http/errors.js'
import type { ConnectionState } from './connection.js'

export const WIRE_CONTENT_TYPE = 'application/json;charset=utf-8'

/** docs/protocol.md, "Bootstrap": the SDK's default receive buffer; a longer body still works with a larger one. */
export const SDK_BODY_BUFFER = 192

/** The device face's paths: requests under /auth/ come from devices and are answered in the docs/protocol.md, "Bootstrap" form, errors included. */
export function isWirePath (path: string): boolean {
  return path.startsWith('/auth/')
}

export interface WireSuccess {
  code: 200
  data: { resources: { mqtt: { host: string, port: number, ip?: string } } }
  message: 'success'
}

export interface WireError {
  code: number
  message: string
}

/** Compact JSON in the key order given: `"host":"x"`, no space after any colon (docs/protocol.md, "Bootstrap"). */
export function wireBody (payload: WireSuccess | WireError): Buffer {
  return Buffer.from(JSON.stringify(payload), 'utf8')
}

export function sendWire (ctx: Context, status: number, payload: WireSuccess | WireError): void {
  sendWireBody(ctx, status, wireBody(payload))
}

export function sendWireBody (ctx: Context, status: number, body: Buffer): void {
  ctx.status = status
  // docs/protocol.md, "Bootstrap": a Buffer body gets an exact `Content-Length: ` (Koa spells it so) and never chunked
  // encoding; the SDK sends one request per connection, so we close it like Alibaba's endpoint does,
  // unless the peer is a proxy or asked to keep it (connection.ts). The header order is part of the bytes.
  ctx.set('Content-Type', WIRE_CONTENT_TYPE)
  if ((ctx.state as ConnectionState).keepConnection !== true) ctx.set('Connection', 'close')
  ctx.body = body
}

/**
 * sendWireBody on the bare response (fast-path.ts), the same bytes: Koa sets these headers in this
 * order and Node then adds only Date (and, for a kept connection, Connection and Keep-Alive).
 */
export function writeWireBody (res: ServerResponse, status: number, body: Buffer, keepConnection: boolean): void {
  res.statusCode = status
  res.setHeader('Content-Type', WIRE_CONTENT_TYPE)
  if (!keepConnection) res.setHeader('Connection', 'close')
  res.setHeader('Content-Length', String(body.length))
  res.end(body)
}

/** The device face's error writer: a non-200 status and a compact body whose code equals the status. */
export const writeWireError: ErrorWriter = (ctx, error) => {
  sendWire(ctx, error.status, { code: error.status, message: error.message })
}
