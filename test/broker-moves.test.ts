// docs/distribution.md, "Rule 6" and docs/protocol.md, "Notify and reply": a device distributed away while online is sent
// thing/bootstrap/notify, is disconnected after its reply (or a bounded wait), and the job record
// says what happened.
import type { MqttClient } from 'mqtt'
import t, { type Test } from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import type { JobRecord } from '../shared/types.js'
import { brokerConfig, closed, connackCode, connectDevice, credentials, makeDevices, nextMessage } from './helpers/broker.js'
import { openTestRegistry } from './helpers/registry.js'
import { within, WAIT_MS } from './helpers/wait.js'

const { keyPrefix, store } = await openTestRegistry(t, 'moves')
const config = brokerConfig(keyPrefix, { broker: { notifyTimeoutMs: 300 } })
const a1 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'moves-a1' })
const a2 = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'moves-a2' })
t.teardown(async () => {
  await a1.close()
  await a2.close()
})
const names = ['answers', 'answers-and-leaves', 'silent', 'other-node', 'offline', 'online', 'stays', 'kicked', 'nearest', 'twice']
const devices = await makeDevices(store, 'pkM', names, 'a')
const cert = (name: string) => devices.find(d => d.deviceName === name)!

const notifyTopic = (dn: string): string => `/sys/pkM/${dn}/thing/bootstrap/notify`

/** Moves the device in the registry and publishes the event, as the job runner does. */
async function move (dn: string, jobId: string, to = 'b'): Promise<void> {
  const outcome = await store.moveDevice('pkM', dn, { from: 'a', to, jobId })
  if (outcome.result !== 'moved') throw new Error(`${dn}: ${outcome.result}`)
  await store.publishMove({ jobId, productKey: 'pkM', deviceName: dn, fromInstanceId: 'a', toInstanceId: to })
}

/** Answers every notify the way the Link SDK does. */
function answerNotifies (client: MqttClient, dn: string): void {
  client.on('message', (topic, payload) => {
    if (topic === notifyTopic(dn)) client.publish(`/sys/pkM/${dn}/thing/bootstrap/notify_reply`, notifyReplyPayload(messageId(payload) ?? ''), { qos: 0 })
  })
}

/** The first notify a device gets, with its QoS. */
function notified (client: MqttClient, dn: string): Promise<{ payload: string, qos: number }> {
  return new Promise(resolve => {
    client.on('message', (topic, payload, packet) => {
      if (topic === notifyTopic(dn)) resolve({ payload: payload.toString(), qos: packet.qos })
    })
  })
}

async function recordOf (jobId: string, dn: string): Promise<JobRecord> {
  for (let i = 0; i < 250; i++) {
    const record = (await store.getRecords(jobId)).find(r => r.deviceName === dn)
    if (record) return record
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`no record for ${dn} in ${jobId}`)
}

async function alive (t: Test, client: MqttClient, dn: string): Promise<void> {
  const topic = `/pkM/${dn}/user/alive`
  await client.subscribeAsync(topic)
  const message = nextMessage(client, topic)
  await client.publishAsync(topic, 'ping', { qos: 1 })
  t.equal((await within(WAIT_MS, message, `client to receive a message on ${topic}`)).toString(), 'ping', `${dn} is still connected`)
}

t.test('a device that never subscribed gets notify, answers, is disconnected; next CONNECT gets 5; the record says so', async t => {
  // The reply is the broker's own: no node of the instance forwards it.
  const forwarded: string[] = []
  const onPublish = (packet: { topic: string }): void => { if (packet.topic.endsWith('/notify_reply')) forwarded.push(packet.topic) }
  for (const node of [a1, a2]) node.aedes.on('publish', onPublish)
  t.teardown(() => { for (const node of [a1, a2]) node.aedes.off('publish', onPublish) })
  const client = await connectDevice(a1.ports.mqtt, cert('answers'))
  answerNotifies(client, 'answers')
  const notify = notified(client, 'answers')
  const gone = closed(client)
  await move('answers', 'job-answers')
  const { payload, qos } = await notify
  t.match(payload, /^\{"id":"\d{1,10}","version":"1\.0","method":"thing\.bootstrap\.notify","params":\{"cmd":0\}\}$/, 'docs/protocol.md, "Notify and reply" payload')
  t.ok(Number(JSON.parse(payload).id) <= 4294967295, 'id within 0-4294967295')
  t.equal(qos, 0, 'QoS 0')
  await within(WAIT_MS, gone, 'the broker to close the connection of client')
  t.pass('disconnected')
  t.same(await recordOf('job-answers', 'answers'), {
    productKey: 'pkM',
    deviceName: 'answers',
    code: 'success',
    message: 'moved to b; online; notified; answered; disconnected',
    move: { stage: 'kicked', to: 'b', kick: { notified: true, answered: true, disconnected: true } }
  })
  t.equal(await connackCode(a1.ports.mqtt, credentials(cert('answers'))), 5, 'CONNACK 5 at the old instance')
  t.same(forwarded, [], 'the notify reply went to no one')
})

t.test('a device that answers and disconnects at once (as the device client does) is recorded as answered', async t => {
  const client = await connectDevice(a1.ports.mqtt, cert('answers-and-leaves'))
  client.on('message', (topic, payload) => {
    if (topic !== notifyTopic('answers-and-leaves')) return
    client.publish('/sys/pkM/answers-and-leaves/thing/bootstrap/notify_reply', notifyReplyPayload(messageId(payload) ?? ''))
    client.end()
  })
  const gone = closed(client)
  await move('answers-and-leaves', 'job-leaves')
  await within(WAIT_MS, gone, 'the broker to close the connection of client')
  t.equal((await recordOf('job-leaves', 'answers-and-leaves')).message, 'moved to b; online; notified; answered; disconnected')
})

t.test('a device that never answers is disconnected after the bounded wait', async t => {
  const client = await connectDevice(a1.ports.mqtt, cert('silent'))
  const notify = notified(client, 'silent')
  const gone = closed(client)
  await move('silent', 'job-silent')
  await notify
  await within(WAIT_MS, gone, 'the broker to close the connection of client')
  t.equal((await recordOf('job-silent', 'silent')).message, 'moved to b; online; notified; no answer; disconnected')
  t.equal(await connackCode(a1.ports.mqtt, credentials(cert('silent'))), 5)
})

t.test('the node holding the device kicks it, whichever node of the instance it is; one record', async t => {
  const client = await connectDevice(a2.ports.mqtt, cert('other-node'))
  answerNotifies(client, 'other-node')
  const gone = closed(client)
  await move('other-node', 'job-other-node')
  await within(WAIT_MS, gone, 'the broker to close the connection of client')
  t.equal((await recordOf('job-other-node', 'other-node')).message, 'moved to b; online; notified; answered; disconnected')
  t.equal((await store.getRecords('job-other-node')).length, 1)
})

t.test('an offline device keeps the record the job runner wrote', async t => {
  const runnerRecord = { productKey: 'pkM', deviceName: 'offline', code: 'success', message: 'moved to b; offline' }
  await store.putRecords('job-mixed', [runnerRecord])
  const client = await connectDevice(a1.ports.mqtt, cert('online'))
  answerNotifies(client, 'online')
  await move('offline', 'job-mixed')
  await move('online', 'job-mixed')
  // Events are handled in order: once the online device's record is there, the offline one was seen.
  t.equal((await recordOf('job-mixed', 'online')).message, 'moved to b; online; notified; answered; disconnected')
  t.same(await recordOf('job-mixed', 'offline'), { ...runnerRecord, move: { stage: 'offline', to: 'b' } }, 'an old-form record, read with its stage')
})

t.test('an event for a device that is assigned here again does not kick it', async t => {
  const stays = await connectDevice(a1.ports.mqtt, cert('stays'))
  t.teardown(() => stays.endAsync())
  let notifies = 0
  stays.on('message', topic => { if (topic === notifyTopic('stays')) notifies++ })
  // The event of a move that was undone since (A -> B -> A): the registry says the device is here.
  await store.publishMove({ jobId: 'job-replayed', productKey: 'pkM', deviceName: 'stays', fromInstanceId: 'a', toInstanceId: 'b' })
  const kicked = await connectDevice(a1.ports.mqtt, cert('kicked'))
  answerNotifies(kicked, 'kicked')
  await move('kicked', 'job-replayed')
  await recordOf('job-replayed', 'kicked')
  await alive(t, stays, 'stays')
  t.equal(notifies, 0, 'no notify')
  t.same((await store.getRecords('job-replayed')).map(r => r.deviceName), ['kicked'], 'no record for it')
})

t.test('nearest access: a device leaving for placement is kicked too', async t => {
  const client = await connectDevice(a1.ports.mqtt, cert('nearest'))
  answerNotifies(client, 'nearest')
  const gone = closed(client)
  await store.setCandidates('pkM', 'nearest', { from: 'a', candidates: [{ region: 'r1', instanceId: 'b' }, { region: 'r2', instanceId: 'c' }], jobId: 'job-nearest' })
  await store.publishMove({ jobId: 'job-nearest', productKey: 'pkM', deviceName: 'nearest', fromInstanceId: 'a', toInstanceId: null })
  await within(WAIT_MS, gone, 'the broker to close the connection of client')
  t.equal((await recordOf('job-nearest', 'nearest')).message, 'moved to nearest placement; online; notified; answered; disconnected')
  t.equal(await connackCode(a1.ports.mqtt, credentials(cert('nearest'))), 5, 'not yet placed: 5')
})

t.test('a device that comes back (A -> B -> A) connects again and is kicked again on the next move', async t => {
  const first = await connectDevice(a1.ports.mqtt, cert('twice'))
  answerNotifies(first, 'twice')
  const firstGone = closed(first)
  await move('twice', 'job-twice-1')
  await within(WAIT_MS, firstGone, 'the broker to close the connection of first')
  await store.moveDevice('pkM', 'twice', { from: 'b', to: 'a', jobId: 'job-twice-2' })
  const again = await connectDevice(a1.ports.mqtt, cert('twice'))
  t.equal((await store.getDevice('pkM', 'twice'))?.runtime.a?.active, true, 'active again at a')
  answerNotifies(again, 'twice')
  const againGone = closed(again)
  await move('twice', 'job-twice-3', 'c')
  await within(WAIT_MS, againGone, 'the broker to close the connection of again')
  t.equal((await recordOf('job-twice-3', 'twice')).message, 'moved to c; online; notified; answered; disconnected')
})
