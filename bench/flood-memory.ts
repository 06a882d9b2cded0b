// A broker node's memory under the floods of docs/operations.md, "Hardening", measured from the
// outside: `homing broker` runs as a child process over the local Redis, this script floods it on
// loopback (bounded in time) and samples the child's resident memory (VmRSS).
//
//   node --import tsx bench/flood-memory.ts connect      # 4 sockets, each a CONNECT declaring 256 MiB
//   node --import tsx bench/flood-memory.ts loop         # a device subscribed to its own topic floods and never reads
//   node --import tsx bench/flood-memory.ts badconnect   # bad CONNECTs as fast as 8 sockets go, 10 s
// FLOOD_MS=3000 shortens the flood (default 10 s). FLOOD_BROKER='{"publishesPerWindow":1000000}' sets broker.* keys of the node's config.
import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import mqttPacket from 'mqtt-packet'
import { newDevice } from '../shared/device.js'
import { sign } from '../shared/sign.js'
import { openRedisStore } from '../shared/store/redis.js'
import { dropPrefix } from './redis-prefix.js'

const scenario = process.argv[2] ?? 'connect'
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'
const keyPrefix = `homing-flood:${process.pid}:`
const port = await new Promise<number>(resolve => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const address = server.address() as net.AddressInfo
    server.close(() => resolve(address.port))
  })
})
const configFile = join(tmpdir(), `homing-flood-${process.pid}.json`)
writeFileSync(configFile, JSON.stringify({
  redis: REDIS,
  keyPrefix,
  broker: JSON.parse(process.env.FLOOD_BROKER ?? '{}') as Record<string, unknown>,
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'flood-token-0123456789' }],
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port }, listen: { host: '127.0.0.1', mqtt: port } }]
}))

const store = await openRedisStore({ url: REDIS, keyPrefix })
const device = newDevice('pkF', 'flooder', 'a')
await store.createDevices([device])

const child = spawn(process.execPath, ['bin/homing.js', 'broker', '--config', configFile, '--instance', 'a'], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] })
let logLines = 0
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('broker did not start within 20 s')), 20_000)
  createInterface({ input: child.stdout }).on('line', line => {
    logLines++
    if (line.includes('"listening"')) { clearTimeout(timer); resolve() }
  })
})

const rss = (): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
  return Math.round(Number(match?.[1] ?? 0) / 1024)
}
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
let peak = rss()
const sampler = setInterval(() => { peak = Math.max(peak, rss()) }, 100)
const baseline = peak
const started = Date.now()
const FLOOD_MS = Number(process.env.FLOOD_MS ?? 10_000)

function socket (): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s))
    s.once('error', reject)
  })
}

function credentials (): { clientId: string, username: string, password: Buffer } {
  const timestamp = String(Date.now())
  const id = 'pkF.flooder'
  const password = sign(device.deviceSecret, { clientId: id, deviceName: 'flooder', productKey: 'pkF', timestamp }, 'hmacsha256')
  return { clientId: `${id}|timestamp=${timestamp},securemode=3,signmethod=hmacsha256|`, username: 'flooder&pkF', password: Buffer.from(password) }
}

/** Writes `chunk` until the socket closes or the flood time is over; resolves with the bytes sent and whether the broker closed it. */
async function pour (s: net.Socket, chunk: Buffer): Promise<{ sent: number, closed: boolean }> {
  let closed = false
  s.on('error', () => {})
  s.once('close', () => { closed = true })
  let sent = 0
  while (!closed && Date.now() - started < FLOOD_MS) {
    if (!s.write(chunk)) await Promise.race([new Promise(resolve => s.once('drain', resolve)), new Promise(resolve => s.once('close', resolve)), sleep(200)])
    sent += chunk.length
  }
  const byBroker = closed
  s.destroy()
  return { sent, closed: byBroker }
}

let outcome: unknown
if (scenario === 'connect') {
  const header = Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f])
  const results = await Promise.all([0, 1, 2, 3].map(async () => {
    const s = await socket()
    s.write(header)
    return pour(s, Buffer.alloc(64 * 1024))
  }))
  outcome = results.map(r => ({ sentMiB: Math.round(r.sent / 1048576), closedByBroker: r.closed }))
} else if (scenario === 'loop') {
  const s = await socket()
  s.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, ...credentials() }))
  await sleep(300)
  const topic = '/pkF/flooder/user/loop'
  s.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 0 }] }))
  await sleep(300)
  s.pause()
  const r = await pour(s, mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.alloc(16 * 1024), qos: 0, retain: false, dup: false }))
  outcome = { sentMiB: Math.round(r.sent / 1048576), closedByBroker: r.closed }
} else if (scenario === 'badconnect') {
  let attempts = 0
  const bad = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, ...credentials(), password: Buffer.from('bad') })
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (Date.now() - started < FLOOD_MS) {
      const s = await socket()
      s.on('error', () => {})
      s.write(bad)
      await new Promise(resolve => { s.once('data', resolve); s.once('close', resolve) })
      s.destroy()
      attempts++
    }
  }))
  const before = logLines
  outcome = { attempts, perSecond: Math.round(attempts / (FLOOD_MS / 1000)), logLinesDuringFlood: before }
}
const floodPeak = peak
await sleep(3000)
clearInterval(sampler)
const after = rss()
console.log(JSON.stringify({ scenario, broker: process.env.FLOOD_BROKER ?? 'defaults', baselineMiB: baseline, peakMiB: floodPeak, threeSecondsAfterMiB: after, outcome }))

child.kill('SIGTERM')
await new Promise(resolve => child.once('exit', resolve))
await store.close()
await dropPrefix(keyPrefix, REDIS)
rmSync(configFile, { force: true })
