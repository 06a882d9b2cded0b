// docs/operations.md, "Hardening": when Redis loses its data, the brokers' move-stream consumer
// groups vanish. A node re-creates its group (and the stream), logs it as an error, counts it, and is
// not ready while it cannot read its moves; a live connection whose device record is gone is
// disconnected by the sweep. On a Redis of the test's own (FLUSHALL).
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { Metrics } from '../shared/metrics/metrics.js'
import { openRedisStore } from '../shared/store/redis.js'
import { brokerConfig, closed, connectDevice, makeDevices } from './helpers/broker.js'
import { ownRedis } from './helpers/redis-server.js'

const redis = await ownRedis()
await redis.start()
t.teardown(() => redis.remove())

const keyPrefix = 'loss:'
const config = { ...brokerConfig(keyPrefix, { broker: { notifyTimeoutMs: 200, sweepIntervalMs: 300 } }), redis: redis.url }
const lines: Record<string, unknown>[] = []
const sink = new Writable({
  write (chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  }
})
const metrics = new Metrics({ defaults: false })
const store = await openRedisStore({ url: redis.url, keyPrefix })
const admin = new Redis(redis.url)
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'loss-a1', metrics, log: pino({ level: 'info' }, sink), ports: { mqtt: 0, http: 0 } })
t.teardown(async () => {
  await node.close()
  await store.close()
  admin.disconnect()
})

async function readyz (): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${node.ports.http}/readyz`)
  await res.arrayBuffer()
  return res.status
}

/** Polls until `check` holds, for at most `ms`; fails with `what` otherwise. */
async function until (what: string, check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`within ${ms} ms: ${what}`)
}

async function counter (name: string, label = ''): Promise<number> {
  const text = await metrics.render()
  const line = text.split('\n').find(l => l.startsWith(`${name}{`) && l.includes(label))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

t.test('after FLUSHALL: a connected device without a record is disconnected; a new device moved away is notified and kicked', async t => {
  await until('ready before the flush', async () => await readyz() === 200)
  const [before] = await makeDevices(store, 'pkR', ['before'], 'a')
  const old = await connectDevice(node.ports.mqtt, before!)
  const oldGone = closed(old)
  await admin.flushall()

  await Promise.race([oldGone, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the device whose record vanished was not disconnected within 5 s')), 5000))])
  t.pass('the device whose record vanished is disconnected by the sweep')
  t.ok(await counter('homing_mqtt_limit_closes_total', 'reason="record_missing"') >= 1, 'counted as record_missing')

  const [moved] = await makeDevices(store, 'pkR', ['moved'], 'a')
  const client = await connectDevice(node.ports.mqtt, moved!)
  const notify = new Promise<string>(resolve => client.on('message', topic => resolve(topic)))
  const gone = closed(client)
  const outcome = await store.moveDevice('pkR', 'moved', { from: 'a', to: 'b', jobId: 'job-loss' })
  t.equal(outcome.result, 'moved')
  await store.publishMove({ jobId: 'job-loss', productKey: 'pkR', deviceName: 'moved', fromInstanceId: 'a', toInstanceId: 'b' })
  const timeout = new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no notify within 5 s: the move stream is not consumed')), 5000))
  t.equal(await Promise.race([notify, timeout]), '/sys/pkR/moved/thing/bootstrap/notify', 'notified')
  await Promise.race([gone, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('not kicked within 5 s')), 5000))])
  t.pass('kicked')
  t.ok(await counter('homing_move_groups_recreated_total') >= 1, 'the re-created group is counted')
  t.ok(lines.some(l => l.level === 50 && String(l.msg).startsWith('move stream consumer group lost')), 'logged as an error')
  await until('ready again', async () => await readyz() === 200)
})

t.test('readiness is false while the node cannot read its moves, and comes back', async t => {
  // The stream key taken by a string: every read and every re-creation fails.
  await admin.del(`${keyPrefix}events:a`)
  await admin.set(`${keyPrefix}events:a`, 'not a stream')
  await until('/readyz 503 while the move stream cannot be read', async () => await readyz() === 503)
  const res = await fetch(`http://127.0.0.1:${node.ports.http}/readyz`)
  t.same(await res.json(), { status: 'move events not consumed' }, 'says why')
  t.ok(await counter('homing_move_stream_errors_total', 'kind="read"') >= 1, 'read errors counted')
  await admin.del(`${keyPrefix}events:a`)
  await until('/readyz 200 once the group is re-created', async () => await readyz() === 200)
  t.pass('ready again without a restart')
})
