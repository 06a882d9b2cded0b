// Cursors of the listings that page by index (README.md, "Management API"): opaque to clients,
// base64url of the position the next page starts after. A cursor that does not decode to a valid
// position is a 400, never a 500.
import { z } from 'zod'
import { DEVICE_NAME, PRODUCT_KEY } from '../../shared/device.js'

/** base64url of `<productKey>/<deviceName>` (at most 65 characters) is at most 88 characters. */
const MAX_CURSOR = 96

export interface Position {
  productKey: string
  deviceName: string
}

export function encodeCursor (at: Position): string {
  return Buffer.from(`${at.productKey}/${at.deviceName}`).toString('base64url')
}

function decode (cursor: string): Position | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null
  const [productKey, deviceName, ...rest] = Buffer.from(cursor, 'base64url').toString('latin1').split('/')
  if (rest.length > 0 || productKey === undefined || deviceName === undefined) return null
  return PRODUCT_KEY.test(productKey) && DEVICE_NAME.test(deviceName) ? { productKey, deviceName } : null
}

/** The `cursor` query field: the `next` of the page before. */
export const cursorQuery = z.string().max(MAX_CURSOR).transform((cursor, ctx) => {
  const at = decode(cursor)
  if (at === null) {
    ctx.addIssue({ code: 'custom', message: 'is not a cursor this listing gave (pass the `next` of the page before)' })
    return z.NEVER
  }
  return at
})

/** The `prefix` query field: the start of device names. */
export const namePrefixQuery = z.string().regex(/^[A-Za-z0-9_@.:-]{1,32}$/, 'must be 1-32 characters: letters, digits and _ @ . : -')
