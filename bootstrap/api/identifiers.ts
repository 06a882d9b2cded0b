// Generated identifiers, shaped like Alibaba's so that tools written for it accept ours.
import { randomInt } from 'node:crypto'

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function alphanumeric (length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]
  return out
}

/** 11 letters and digits beginning with `a1`, like `a1FlqIQ2xKc`. */
export function newProductKey (): string {
  return `a1${alphanumeric(9)}`
}

/** 20 letters and digits, as Alibaba names devices created by count. */
export function newDeviceName (): string {
  return alphanumeric(20)
}
