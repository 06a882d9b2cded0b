// What a device timeline costs the registry (docs/operations.md, "Device timeline"): Redis CPU (INFO
// CPU, used_cpu_user + used_cpu_sys of the server) and wall time per event, for the connected events
// of a connect storm as a broker node writes them (batches of one event loop turn, pipelined), beside
// a same-run baseline: the online mark that every CONNECT already writes (store.connected, a
// compare-and-set). Then the memory of one device's full log (MEMORY USAGE).
//
//   node --import tsx bench/device-events.ts            # 20,000 devices, batches of 200
// DEVICES=50000 BATCH=500 change the sizes; REDIS_URL the server (default the local one).
import { Redis } from 'ioredis'
import { DEVICE_EVENTS_KEPT, type DeviceEvent } from '../shared/device-events.js'
import { newDevice } from '../shared/device.js'
import { openRedisStore } from '../shared/store/redis.js'
import { dropPrefix } from './redis-prefix.js'

const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0'
const DEVICES = Number(process.env.DEVICES ?? 20_000)
const BATCH = Number(process.env.BATCH ?? 200)
const keyPrefix = `homing-bench-events:${process.pid}:`
const store = await openRedisStore({ url: REDIS, keyPrefix, commandTimeoutMs: 30_000 })
const admin = new Redis(REDIS)
const pk = 'pkBench'
const names = Array.from({ length: DEVICES }, (_, i) => `dev-${i}`)

async function redisCpu (): Promise<number> {
  const info = await admin.info('cpu')
  const field = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0)
  return field('used_cpu_user') + field('used_cpu_sys')
}

/** Runs `work` over the devices in batches; answers µs of Redis CPU and of wall time per device. */
async function measure (label: string, work: (batch: string[]) => Promise<unknown>): Promise<void> {
  const cpu0 = await redisCpu()
  const client0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < names.length; i += BATCH) await work(names.slice(i, i + BATCH))
  const wall = Number(process.hrtime.bigint() - t0) / 1e3
  const client = process.cpuUsage(client0)
  const cpu = (await redisCpu() - cpu0) * 1e6
  const per = (us: number): string => (us / names.length).toFixed(1)
  console.log(`${label.padEnd(44)} redis CPU ${per(cpu).padStart(6)} µs/device   bench process CPU ${per(client.user + client.system).padStart(6)} µs/device   wall ${per(wall).padStart(6)} µs/device`)
}

try {
  await store.createDevices(names.map(dn => newDevice(pk, dn, 'a')))
  const connected = (dn: string, i: number): DeviceEvent => ({ kind: 'connected', at: Date.now(), instanceId: 'a', nodeId: 'a-node-1', address: `203.0.113.${i % 250}`, transport: 'mqtt', sdk: 'c', sdkVersion: 'sdk-c-4.1.0' })
  console.log(`${DEVICES} devices, batches of ${BATCH}, ${REDIS}`)
  await measure('baseline: online mark (store.connected, CAS)', batch => Promise.all(batch.map(dn => store.connected(pk, dn, { instanceId: 'a', nodeId: 'n', session: dn, address: null, at: Date.now() }))))
  await measure('timeline: one connected event per device', batch => store.appendDeviceEvents(batch.map((deviceName, i) => ({ productKey: pk, deviceName, event: connected(deviceName, i) }))))
  // One log filled to the cap: what a device costs at most.
  await store.appendDeviceEvents(Array.from({ length: DEVICE_EVENTS_KEPT }, (_, i) => ({ productKey: pk, deviceName: 'dev-0', event: connected('dev-0', i) })))
  const key = `${keyPrefix}device:{${pk}/dev-0}:events`
  const bytes = await admin.memory('USAGE', key)
  console.log(`one device's log at the cap (${DEVICE_EVENTS_KEPT} connected events): ${bytes} bytes (${Math.round(Number(bytes) / DEVICE_EVENTS_KEPT)} per event); the event as JSON: ${JSON.stringify(connected('dev-0', 1)).length} bytes`)
} finally {
  await store.close()
  await dropPrefix(keyPrefix, REDIS)
  admin.disconnect()
}
