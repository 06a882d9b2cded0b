// broker/packet-meter.ts reads each MQTT fixed header from the bytes as Aedes reads them: whatever
// the chunking, a stream of packets within the cap is left alone, and the first packet over the cap
// closes the stream on its header. Real streams (PassThrough), read the way Aedes reads them.
import { PassThrough } from 'node:stream'
import fc from 'fast-check'
import t from 'tap'
import { meterPackets } from '../broker/packet-meter.js'
import { header } from './helpers/mqtt-bytes.js'

const CAP = 20_000

const packet = (type: number, length: number): Buffer => Buffer.concat([header(type, length), Buffer.alloc(length, 0xa5)])

/** Feeds `bytes` in chunks of the given sizes to a meter read like Aedes reads; resolves with the refusal, if any. */
async function meter (bytes: Buffer, cuts: number[], accepted: boolean): Promise<string | null> {
  const stream = new PassThrough()
  // As Aedes: a 'readable' listener that reads everything there is.
  stream.on('readable', () => { while (stream.read() !== null); })
  let refused: string | null = null
  meterPackets(stream, { maxPacketBytes: CAP, preAuthMaxBytes: 1_000_000 }, () => accepted, reason => { refused = reason })
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    if (stream.destroyed) break
    const end = Math.min(bytes.length, at + Math.max(1, cut))
    stream.write(bytes.subarray(at, end))
    at = end
    await new Promise(resolve => setImmediate(resolve))
    if (at >= bytes.length) break
  }
  while (at < bytes.length && !stream.destroyed) {
    stream.write(bytes.subarray(at, at + 4096))
    at += 4096
    await new Promise(resolve => setImmediate(resolve))
  }
  return refused
}

const lengths = fc.array(fc.oneof(fc.integer({ min: 0, max: 130 }), fc.integer({ min: 16_000, max: CAP })), { minLength: 1, maxLength: 8 })
const cuts = fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 12 })

t.test('packets within the cap pass, however the bytes are cut', async t => {
  await fc.assert(fc.asyncProperty(lengths, cuts, async (sizes, cut) => {
    const bytes = Buffer.concat(sizes.map(n => packet(3, n)))
    return await meter(bytes, cut, true) === null
  }), { numRuns: 150 })
  t.pass('held for 150 generated cases')
})

t.test('the first packet over the cap closes the stream, however the bytes are cut', async t => {
  await fc.assert(fc.asyncProperty(lengths, fc.integer({ min: CAP + 1, max: 268_435_455 }), cuts, async (sizes, big, cut) => {
    // The big packet's body is not sent: its header alone must be enough.
    const bytes = Buffer.concat([...sizes.map(n => packet(3, n)), header(3, big), Buffer.alloc(1)])
    return await meter(bytes, cut, true) === 'packet_size'
  }), { numRuns: 150 })
  t.pass('held for 150 generated cases')
})

t.test('before the CONNECT is accepted the reason is preauth_bytes', async t => {
  const stream = new PassThrough()
  stream.on('readable', () => { while (stream.read() !== null); })
  let refused: string | null = null
  meterPackets(stream, { maxPacketBytes: CAP, preAuthMaxBytes: 8192 }, () => false, reason => { refused = reason })
  stream.write(header(1, 9000))
  await new Promise(resolve => setImmediate(resolve))
  t.equal(refused, 'preauth_bytes', 'a CONNECT declaring more than the pre-auth budget, on its header')
  t.ok(stream.destroyed)
})
