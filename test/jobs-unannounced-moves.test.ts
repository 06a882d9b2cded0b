// An attempt of a job that ends between writing a batch's records and publishing the batch's move
// events (a registry outage, a crash) must not lose those events: the resumed job publishes the
// event of every device it recorded as moved and had not announced yet, online or offline, and the
// old broker tells and kicks the devices it still holds. The registry fails exactly there, every time:
// the test's own Redis refuses XADD (an ACL rule) while it takes every other write.
import { Redis } from 'ioredis'
import type { MqttClient } from 'mqtt'
import t from 'tap'
import { JobRunner } from '../bootstrap/jobs/runner.js'
import { recordsInJobOrder } from '../bootstrap/jobs/counts.js'
import { recordsCsv } from '../bootstrap/jobs/csv.js'
import { startBrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { openRedisStore } from '../shared/store/redis.js'
import type { DeviceMoved } from '../shared/types.js'
import { brokerConfig, closed, connectDevice, makeDevices } from './helpers/broker.js'
import { ownRedis } from './helpers/redis-server.js'
import { eventually, sleep, within, WAIT_MS } from './helpers/wait.js'
import { job, productWithData as product } from './helpers/fixtures.js'

const redis = await ownRedis()
await redis.start()
t.teardown(() => redis.remove())

const keyPrefix = 'unannounced:'
const store = await openRedisStore({ url: redis.url, keyPrefix })
const broker = await startBrokerNode({ config: { ...brokerConfig(keyPrefix, { broker: { notifyTimeoutMs: 300 } }), redis: redis.url }, instanceId: 'a', store, nodeId: 'unannounced-a1' })
const admin = new Redis(redis.url)
t.teardown(async () => {
  admin.disconnect()
  await within(10_000, broker.close(), 'the broker node to close')
  await within(10_000, store.close(), 'the test\'s store to close')
})

const pk = 'pkUnannounced'
// The first batch (3 devices) is the one whose events the registry refuses; the second runs after it is back.
const names = ['online', 'held-unmarked', 'offline', 'later-1', 'later-2']
const certs = await makeDevices(store, pk, names, 'a')
const cert = (dn: string) => certs.find(c => c.deviceName === dn)!
await store.createProduct(product(pk, 'a'))

/** Answers every notify the way the Link SDK does; resolves with the notify's id. */
function answering (client: MqttClient, dn: string): Promise<string> {
  const topic = `/sys/${pk}/${dn}/thing/bootstrap/notify`
  return new Promise(resolve => {
    client.on('message', (at, payload) => {
      if (at !== topic) return
      const id = messageId(payload) ?? ''
      client.publish(`/sys/${pk}/${dn}/thing/bootstrap/notify_reply`, notifyReplyPayload(id), { qos: 0 })
      resolve(id)
    })
  })
}

/** The devices with a move event of `jobId` in instance a's log, read whole. */
async function announced (jobId: string): Promise<string[]> {
  const entries = await admin.xrange(`${keyPrefix}events:a`, '-', '+')
  const out = new Set<string>()
  for (const [, fields] of entries) {
    const event = JSON.parse(fields[fields.indexOf('event') + 1] ?? '{}') as DeviceMoved
    if (event.jobId === jobId) out.add(event.deviceName)
  }
  return [...out].sort()
}

t.test('events refused after the records were written: the resumed job announces every device it recorded, online or offline', async t => {
  const online = await connectDevice(broker.ports.mqtt, cert('online'))
  const onlineTold = answering(online, 'online')
  const onlineGone = closed(online)
  // Connected here, but the registry has no online mark for it: what a device that connected while it
  // was being moved looks like (the runner records it `offline`, and only the event reaches its broker).
  const unmarked = await connectDevice(broker.ports.mqtt, cert('held-unmarked'))
  const unmarkedTold = answering(unmarked, 'held-unmarked')
  const unmarkedGone = closed(unmarked)
  t.teardown(async () => { await online.endAsync(true); await unmarked.endAsync(true) })
  const mark = (await store.getDevice(pk, 'held-unmarked'))?.online
  t.ok(mark, 'the broker marked the device online')
  await store.disconnected(pk, 'held-unmarked', mark!.session, Date.now())

  await admin.call('ACL', 'SETUSER', 'default', '-xadd')
  t.teardown(() => admin.call('ACL', 'SETUSER', 'default', '+xadd'))
  const j = job(pk, names)
  await store.createJob(j)
  // Refused events are the registry's error, not the job's: let it try as often as the test needs.
  const runner = new JobRunner({ store, pollMs: 100, batchSize: 3, maxAttempts: 1000, owner: 'unannounced-runner' })
  t.teardown(() => within(10_000, runner.close(), 'the job runner to close'))
  runner.start()

  await eventually(async () => (await store.getRecords(j.id)).length === 3, 'the runner to record the first batch', { ms: WAIT_MS })
  await sleep(500) // several attempts, each refused at the events
  t.same(await announced(j.id), [], 'no event published while the registry refuses them')
  t.equal((await store.getJob(j.id))?.status, 'distributing', 'the job waits')
  t.same(recordsInJobOrder(j, await store.getRecords(j.id)).map(r => r.message), [
    'moved to b', 'moved to b; offline', 'moved to b; offline', '', ''
  ], 'the first batch recorded as moved, the second not reached')
  t.notOk(online.disconnecting || !online.connected, 'the online device is still connected at its old instance')

  await admin.call('ACL', 'SETUSER', 'default', '+xadd')
  await eventually(async () => (await store.getJob(j.id))?.status === 'distributed', 'the job to end distributed once events are taken', { ms: 10_000 })
  t.same(await announced(j.id), [...names].sort(), 'an event for every device: the refused batch\'s, offline ones included, and the rest')

  await within(WAIT_MS, onlineTold, 'the online device to get its notify')
  await within(WAIT_MS, onlineGone, 'the broker to disconnect the online device')
  await within(WAIT_MS, unmarkedTold, 'the device held without an online mark to get its notify')
  await within(WAIT_MS, unmarkedGone, 'the broker to disconnect the device held without an online mark')
  await eventually(async () => recordsInJobOrder(j, await store.getRecords(j.id)).filter(r => r.move?.stage === 'kicked').length === 2,
    'the broker to complete the records of both devices it held', { ms: WAIT_MS })
  t.same(recordsCsv(recordsInJobOrder(j, await store.getRecords(j.id))).split(/\r?\n/), [
    'productKey,deviceName,code,message',
    `${pk},online,success,moved to b; online; notified; answered; disconnected`,
    `${pk},held-unmarked,success,moved to b; online; notified; answered; disconnected`,
    `${pk},offline,success,moved to b; offline`,
    `${pk},later-1,success,moved to b; offline`,
    `${pk},later-2,success,moved to b; offline`,
    ''
  ], 'the records CSV')
})
