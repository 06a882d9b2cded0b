// The transport-level limits of one device connection, put in place as Aedes takes it: packet size
// caps read from each fixed header (broker/packet-meter.ts) and the bound on unread outgoing bytes
// (broker/outgoing-limit.ts). docs/operations.md, "Hardening".
import type { Duplex } from 'node:stream'
import type { Client } from 'aedes'
import type { LimitReason } from '../shared/metrics/metrics.js'
import { limitOutgoing } from './outgoing-limit.js'
import { meterPackets } from './packet-meter.js'

export interface ConnectionLimitOptions {
  maxPacketBytes: number
  preAuthMaxBytes: number
  outgoingQueueBytes: number
}

/** `authenticated`: the CONNECT was accepted (the full packet cap holds from then). `closed` is told each connection closed on a limit, once, before it closes. */
export function limitConnection (stream: Duplex, client: Client, options: ConnectionLimitOptions,
  authenticated: (client: Client) => boolean, closed: (client: Client, reason: LimitReason) => void): void {
  meterPackets(stream, options, () => authenticated(client), reason => closed(client, reason))
  limitOutgoing(stream, options.outgoingQueueBytes, () => closed(client, 'outgoing_queue'))
}
