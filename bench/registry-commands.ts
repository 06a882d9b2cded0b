// Redis commands per listed page of a product's devices and per CONNECT, from INFO commandstats
// deltas on a redis-server of its own (nothing else writes to it), at 1,000, 10,000 and 100,000
// devices: node --import tsx bench/registry-commands.ts (BENCHMARKS.md, "Registry commands").
import { spawn } from 'node:child_process'
import { Redis } from 'ioredis'
import { openRedisStore } from '../shared/store/redis.js'
import { apiClient, startTestSidecar, TOKENS } from '../test/helpers/test-sidecar.js'
import { freePort } from '../test/helpers/free-port.js'

const port = await freePort()
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
const url = `redis://127.0.0.1:${port}`
const admin = new Redis(url, { retryStrategy: times => (times < 50 ? 100 : null) })
admin.on('error', () => {}) // refused until the server listens; the ping below waits
await admin.ping() // queued until the server listens
const stats = async (): Promise<Record<string, number>> => {
  const text = await admin.info('commandstats')
  const out: Record<string, number> = {}
  for (const m of text.matchAll(/cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/g)) out[m[1]!] = Number(m[2])
  return out
}
const delta = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(b)) { const d = v - (a[k] ?? 0); if (d > 0 && k !== 'info') out[k] = d }
  return out
}
const total = (d: Record<string, number>): number => Object.values(d).reduce((x, y) => x + y, 0)
const store = await openRedisStore({ url, keyPrefix: 'm:' })
const sidecar = await startTestSidecar(store)
const acme = apiClient(sidecar.url, TOKENS.acme)
const PK = 'a1measure01'
await acme('POST', '/products', { instanceId: 'iot-sh-1', name: 'M', productKey: PK })
let made = 0
for (const size of [1000, 10000, 100000]) {
  while (made < size) {
    const n = Math.min(10000, size - made)
    const names = Array.from({ length: n }, (_, i) => `dev-${String(made + i).padStart(7, '0')}`)
    const res = await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh-1', deviceNames: names })
    if (res.status !== 201) throw new Error(res.text)
    made += n
  }
  const before = await stats()
  const t0 = process.hrtime.bigint()
  const page = await acme('GET', `/products/${PK}/devices?instanceId=iot-sh-1&limit=100`)
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  const d = delta(before, await stats())
  console.log(`page of 100 at ${size} devices: ${total(d)} commands ${JSON.stringify(d)}, ${ms.toFixed(1)} ms, status ${page.status}, ${page.json.devices.length} devices`)
}
// One CONNECT's registry work, as the broker does it: read the record, then mark it online with that
// read, its timeline event in the same script (broker/presence.ts).
const dn = 'dev-0000042'
const b1 = await stats()
const seen = await store.getDevice(PK, dn)
const connected = { kind: 'connected', at: 1, instanceId: 'iot-sh-1', nodeId: 'n', address: null, transport: 'mqtt', sdk: 'c', sdkVersion: null } as const
await store.connected(PK, dn, { instanceId: 'iot-sh-1', nodeId: 'n', session: 's1', address: null, at: 1, event: connected }, seen ?? undefined)
const c = delta(b1, await stats())
console.log(`first CONNECT: ${total(c)} commands ${JSON.stringify(c)}`)
const b2 = await stats()
await store.disconnected(PK, dn, 's1', 2, { kind: 'disconnected', at: 2, instanceId: 'iot-sh-1', nodeId: 'n', reason: 'client' })
const e = delta(b2, await stats())
console.log(`disconnect: ${total(e)} commands ${JSON.stringify(e)}`)
console.log(`used_memory: ${(await admin.info('memory')).match(/used_memory:(\d+)/)?.[1]} bytes for ${made} devices`)
await sidecar.close()
await store.close()
admin.disconnect()
server.kill()
