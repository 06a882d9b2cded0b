// MQTT bytes built by hand, for tests where the wire itself is the point.

/** A fixed header: packet type `type` (1 CONNECT, 3 PUBLISH) declaring `length` remaining bytes (1 to 4 length bytes). */
export function header (type: number, length: number): Buffer {
  const bytes = [type << 4]
  let n = length
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    bytes.push(byte)
  } while (n > 0)
  return Buffer.from(bytes)
}
