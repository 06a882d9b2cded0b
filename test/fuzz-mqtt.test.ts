// Fuzz: MQTT packets from raw bytes on a real `homing broker` node on Redis (docs/hardening.md).
// Signed CONNECTs with bytes flipped, cut and appended and with their declared length lied about,
// a signed CONNECT followed by mutated SUBSCRIBE and PUBLISH packets, and random bytes. The node
// stays up, a refused CONNECT changes nothing in the registry, and afterwards a normal signed
// device still connects.
import net from 'node:net'
import fc from 'fast-check'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import type { Certificate } from '../shared/types.js'
import { connectDevice, credentials } from './helpers/broker.js'
import { FEWER_RUNS, FUZZ_RUNS, changes, expect, nastyString, property, quiet, seed, startFuzzDeployment, within } from './helpers/fuzz.js'
import { deviceKey } from '../shared/store/device-keys.js'

const d = await startFuzzDeployment('fuzz-mqtt', { broker: true })
t.teardown(() => d.close())
const certs = await seed(d)
const cert = certs[0]!

function connectPacket (c: Certificate, secret?: string): Buffer {
  const creds = credentials(c, secret === undefined ? {} : { secret })
  return mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: creds.clientId, username: creds.username, password: Buffer.from(creds.password) })
}

/**
 * Writes `bytes` and resolves with what came back: once the broker closed, or once it answered a
 * CONNECT (and 50 ms for what follows), or after `silentMs` of nothing (100 ms: most fuzz inputs get no
 * answer); then half-closes and waits for the close (at most 3 s, then destroys).
 */
function exchange (bytes: Uint8Array, silentMs = 100): Promise<Buffer> {
  return new Promise(resolve => {
    const socket = net.connect(d.mqttPort, '127.0.0.1')
    const chunks: Buffer[] = []
    let quietTimer = setTimeout(() => socket.end(), silentMs)
    const hardTimer = setTimeout(() => socket.destroy(), 3000)
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      clearTimeout(quietTimer)
      quietTimer = setTimeout(() => socket.end(), 50)
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(quietTimer)
      clearTimeout(hardTimer)
      resolve(Buffer.concat(chunks))
    })
    socket.on('connect', () => { socket.write(Buffer.from(bytes)) })
  })
}

const accepted = (answer: Buffer): boolean => answer.length >= 4 && answer[0] === 0x20 && answer[3] === 0x00

/** The first packet in `bytes` when it parses as a CONNECT with the signed fields of `cert` (the broker may accept it). */
function signedConnect (bytes: Uint8Array): boolean {
  let first: mqttPacket.Packet | null = null
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (p: mqttPacket.Packet) => { first ??= p })
  parser.on('error', () => {})
  try {
    parser.parse(Buffer.from(bytes))
  } catch {}
  const p = first as mqttPacket.IConnectPacket | null
  return p !== null && p.cmd === 'connect' && p.username === `${cert.deviceName}&${cert.productKey}` && p.password !== undefined && p.clientId.startsWith(`${cert.productKey}.${cert.deviceName}|`)
}

/** After a CONNECT the broker may have accepted: its disconnect is written (the device is offline again) and writes stopped. */
async function settled (): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const raw = await d.redis.get(deviceKey(d.keyPrefix, cert.productKey, cert.deviceName))
    if (raw !== null && (JSON.parse(raw) as { online: unknown }).online === null) break
    await new Promise(resolve => setTimeout(resolve, 30))
  }
  await quiet(d, 50)
}

/**
 * One case: the node stays up; unless the bytes start with a CONNECT signed as `cert` (whose
 * password a mutation left alone: with garbage after it the broker may authenticate it, then drop
 * the connection), nothing under the prefix changed.
 */
async function mqttCase (...inputs: Uint8Array[]): Promise<void> {
  const before = await d.snapshot()
  // Several connections at once: the case is as long as its slowest one.
  const answers = await Promise.all(inputs.map(exchange))
  expect(d.alive(), `the broker exited:\n${d.broker?.stderr().slice(-2000) ?? ''}`)
  if (answers.some(accepted) || inputs.some(signedConnect)) return await settled()
  const changed = changes(before, await d.snapshot())
  expect(changed.length === 0, `refused (answers ${answers.map(a => a.subarray(0, 8).toString('hex') || 'none').join(' ')}) but the registry changed: ${changed.slice(0, 5).join(' ')}`)
}

/** Inputs sent at once per case: cases are mostly waiting on the broker, so a batch costs about one. */
const BATCH = 8

type Edit = { kind: 'flip', at: number, bit: number } | { kind: 'cut', at: number } | { kind: 'append', bytes: Uint8Array } | { kind: 'length', value: number[] }

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  // The remaining length: 1-4 bytes of continuation, as declared (from 0 to the 256 MB maximum and malformed 5-byte ones).
  fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.constantFrom<number[]>([0], [0x7f], [0xff, 0x7f], [0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0xff, 0x7f], [0x80]), fc.array(fc.nat(255), { minLength: 1, maxLength: 5 })) })
)

/** Applies edits to one packet; `length` replaces the remaining-length bytes after the first byte. */
function applyEdits (packet: Buffer, edits: Edit[]): Buffer {
  let out = Buffer.from(packet)
  for (const e of edits) {
    if (out.length === 0) break
    if (e.kind === 'flip') out[e.at % out.length] = out[e.at % out.length]! ^ (1 << e.bit)
    else if (e.kind === 'cut') out = out.subarray(0, e.at % out.length)
    else if (e.kind === 'append') out = Buffer.concat([out, e.bytes])
    else {
      let n = 1
      while (n < out.length && n < 5 && (out[n]! & 0x80) !== 0) n++
      out = Buffer.concat([out.subarray(0, 1), Buffer.from(e.value), out.subarray(n + 1)])
    }
  }
  return out
}

t.test('the unmutated CONNECT is accepted', async t => {
  // Waits for the answer however loaded the machine is: a CONNACK comes after registry reads.
  t.ok(accepted(await exchange(connectPacket(cert), 2500)), 'CONNACK 0')
  t.ok(signedConnect(connectPacket(cert)), 'read as a signed CONNECT')
  t.notOk(signedConnect(connectPacket(cert).subarray(0, 30)), 'a cut one is not')
  await settled()
})

t.test('mutated CONNECTs (signed, and with a wrong secret): up, a refusal changes nothing', async t => {
  const base = fc.oneof(fc.constant(null), fc.constant('wrong-secret-0123456789abcdef'))
  const one = fc.tuple(base, fc.array(edit, { minLength: 1, maxLength: 4 }))
  await property(t, `mutated CONNECTs (${BATCH} per case)`, fc.array(one, { minLength: BATCH, maxLength: BATCH }), async batch => {
    await mqttCase(...batch.map(([secret, edits]) => applyEdits(connectPacket(cert, secret ?? undefined), edits)))
  }, { runs: Math.ceil(FUZZ_RUNS / BATCH) })
})

t.test('a signed CONNECT then mutated SUBSCRIBE and PUBLISH packets: up', async t => {
  const topic = fc.oneof(fc.constantFrom(`/${cert.productKey}/${cert.deviceName}/user/get`, `/sys/${cert.productKey}/${cert.deviceName}/thing/event/property/post`,
    '#', '+/#', '$SYS/#', '/sys/+/+/thing/bootstrap/notify', `/${cert.productKey}/other/user/get`, '', 'a\u0000b'), nastyString.map(s => s.slice(0, 70_000)))
  const packet = fc.oneof(
    fc.record({ topic, qos: fc.nat(3), id: fc.integer({ min: 1, max: 65535 }) }).map(s => mqttPacket.generate({ cmd: 'subscribe', messageId: s.id, subscriptions: [{ topic: s.topic, qos: Math.min(s.qos, 2) as 0 | 1 | 2 }] })),
    fc.record({ topic, qos: fc.nat(2), retain: fc.boolean(), payload: fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.constantFrom(300_000, 2_000_000).map(n => new Uint8Array(n))), id: fc.integer({ min: 1, max: 65535 }) })
      .map(p => mqttPacket.generate({ cmd: 'publish', topic: p.topic, qos: p.qos as 0 | 1 | 2, retain: p.retain, dup: false, messageId: p.id, payload: Buffer.from(p.payload) })),
    fc.record({ topic, id: fc.integer({ min: 1, max: 65535 }) }).map(u => mqttPacket.generate({ cmd: 'unsubscribe', messageId: u.id, unsubscriptions: [u.topic] })),
    fc.constantFrom(Buffer.from([0xc0, 0x00]), Buffer.from([0xe0, 0x00]), Buffer.from([0x10, 0x00]), Buffer.from([0x30]), Buffer.from([0xf0, 0x00]))
  )
  const sequence = fc.array(fc.tuple(packet, fc.array(edit, { maxLength: 2 })), { minLength: 1, maxLength: 4 })
  await property(t, 'mutated sessions', sequence, async packets => {
    await mqttCase(Buffer.concat([connectPacket(cert), ...packets.map(([p, edits]) => applyEdits(p, edits))]))
  }, { runs: FEWER_RUNS })
})

t.test('random bytes: up, nothing changed', async t => {
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ minLength: 1, maxLength: 64 }).map(b => Buffer.concat([Buffer.from([0x10]), b])))
  await property(t, `random bytes (${BATCH} per case)`, fc.array(bytes, { minLength: BATCH, maxLength: BATCH }), async batch => { await mqttCase(...batch) }, { runs: Math.ceil(FUZZ_RUNS / BATCH) })
})

t.test('afterwards the node is alive and a normal signed device connects', async t => {
  t.ok(d.alive(), 'the broker process is running')
  const client = await within(10_000, 'a signed device did not get CONNACK 0', connectDevice(d.mqttPort, certs[1]!))
  t.ok(client.connected, 'connected')
  await client.endAsync()
})
