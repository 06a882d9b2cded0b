// Packet size caps, read from the MQTT fixed header as bytes arrive: a packet that declares more
// than the cap is refused on its header, before its body is buffered (mqtt-packet keeps every byte
// of a packet until it is complete). Until the CONNECT is accepted a much smaller budget holds for
// everything the connection sends. docs/operations.md, "Hardening".
import type { Duplex } from 'node:stream'
import type { LimitReason } from '../shared/metrics/metrics.js'

export interface PacketCaps {
  /** Largest remaining length of one packet once the CONNECT is accepted. */
  maxPacketBytes: number
  /** Bytes the connection may send in all before its CONNECT is accepted. */
  preAuthMaxBytes: number
}

/** Where the meter is in the byte stream. */
interface Position {
  /** Body bytes of the current packet still to come. */
  body: number
  /** Bytes of the remaining-length field read so far (0: the next byte is a fixed header's first). */
  lengthBytes: number
  /** Remaining length being read; -1 when the next byte is a packet's first byte. */
  length: number
  multiplier: number
}

/**
 * Watches what Aedes reads from `stream` (call it after `aedes.handle(stream)`): with Aedes' own
 * 'readable' listener in place, 'data' fires for exactly the chunks Aedes reads, as it reads them,
 * so the meter adds no buffering and never changes the stream's flow. `refuse` is called once,
 * before the stream is destroyed.
 */
export function meterPackets (stream: Duplex, caps: PacketCaps, accepted: () => boolean, refuse: (reason: LimitReason) => void): void {
  const at: Position = { body: 0, lengthBytes: 0, length: -1, multiplier: 1 }
  let before = 0
  const stop = (reason: LimitReason): void => {
    stream.off('data', onData)
    refuse(reason)
    stream.destroy()
  }
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (!accepted()) {
      before += bytes.length
      if (before > caps.preAuthMaxBytes) return stop('preauth_bytes')
    }
    const after = accepted()
    if (advance(at, bytes, after ? caps.maxPacketBytes : caps.preAuthMaxBytes)) stop(after ? 'packet_size' : 'preauth_bytes')
  }
  stream.on('data', onData)
}

/** Walks `bytes` packet by packet; true when a header declares more than `cap`. */
function advance (at: Position, bytes: Buffer, cap: number): boolean {
  let i = 0
  while (i < bytes.length) {
    if (at.body > 0) {
      const skip = Math.min(at.body, bytes.length - i)
      at.body -= skip
      i += skip
      continue
    }
    const byte = bytes[i++] as number
    if (at.length === -1) {
      // The first byte of a fixed header (type and flags); its remaining length follows.
      at.length = 0
      at.lengthBytes = 0
      at.multiplier = 1
      continue
    }
    at.length += (byte & 0x7f) * at.multiplier
    at.multiplier *= 128
    at.lengthBytes++
    if ((byte & 0x80) !== 0) {
      // A fifth length byte is malformed (MQTT allows four) and would declare more than any cap.
      if (at.lengthBytes >= 4 || at.length > cap) return true
      continue
    }
    if (at.length > cap) return true
    at.body = at.length
    at.length = -1
  }
  return false
}
