// docs/protocol.md, "CONNECT authentication": the MQTT password is hex(HMAC(deviceSecret, content)).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

export const SIGN_METHODS = { hmacmd5: 'md5', hmacsha1: 'sha1', hmacsha256: 'sha256' } as const
export type SignMethod = keyof typeof SIGN_METHODS

export interface SignFields {
  clientId?: string
  deviceName?: string
  productKey?: string
  timestamp?: string
}

/** docs/protocol.md, "CONNECT authentication": each present field, in alphabetical order, key immediately followed by value. */
export function signContent (fields: SignFields): string {
  let content = ''
  for (const key of ['clientId', 'deviceName', 'productKey', 'timestamp'] as const) {
    const value = fields[key]
    if (value !== undefined) content += key + value
  }
  return content
}

export function sign (secret: string, fields: SignFields, method: SignMethod = 'hmacmd5'): string {
  return createHmac(SIGN_METHODS[method], secret).update(signContent(fields)).digest('hex')
}

/** docs/protocol.md, "CONNECT authentication": hex is compared case-insensitively (C SDK upper, Node/Python lower), in constant time. */
export function verify (secret: string, fields: SignFields, method: SignMethod, password: string): boolean {
  const expected = Buffer.from(sign(secret, fields, method), 'latin1')
  const given = Buffer.from(password.toLowerCase(), 'latin1')
  if (given.length !== expected.length) {
    timingSafeEqual(expected, expected)
    return false
  }
  return timingSafeEqual(expected, given)
}

/** Constant-time equality of two secrets of any length (tokens, codes). */
export function safeEqual (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  if (x.length !== y.length) {
    timingSafeEqual(x, x)
    return false
  }
  return timingSafeEqual(x, y)
}

/** A new device secret: 32 hex characters, like Alibaba's. */
export function newSecret (): string {
  return randomBytes(16).toString('hex')
}
