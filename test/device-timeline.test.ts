// A device's timeline (docs/operations.md, "Device timeline") with every real part: the sidecar on a
// real Redis, broker nodes, a bootstrap over HTTP, mqtt.js connections, a job that moves the device
// while it is online, a nearest-access placement. The events read through the API, in the order they
// happened; the registry keeps only `limits.deviceEvents` of them; after a cross-account move the
// other account sees none of acme's.
import type { MqttClient } from 'mqtt'
import t from 'tap'
import { deviceEventsAnswer } from '../bootstrap/api/device-events-view.js'
import { startBrokerNode, type BrokerNode } from '../broker/node.js'
import { messageId, notifyReplyPayload } from '../shared/alink.js'
import { parseConfig } from '../shared/config.js'
import { openStore } from '../shared/store/index.js'
import type { Certificate } from '../shared/types.js'
import { connectDevice } from './helpers/broker.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { FRANKFURT, SHANGHAI } from './helpers/regions.js'
import { apiClient, startTestSidecar, TOKENS, type ApiAnswer } from './helpers/test-sidecar.js'
import { eventually, within } from './helpers/wait.js'

const KEPT = 16
const keyPrefix = uniquePrefix('timeline')
const instance = (id: string, region: string, account: string) => ({
  id, region, account, endpoint: { host: `mqtt.${id}.test`, port: 1883 }, listen: { host: '127.0.0.1', mqtt: 0 }
})
const config = parseConfig({
  redis: REDIS_URL,
  keyPrefix,
  bootstrap: { host: '127.0.0.1', port: 0 },
  broker: { notifyTimeoutMs: 1000, keepaliveMin: 1 },
  limits: { deviceEvents: KEPT },
  regions: [SHANGHAI, FRANKFURT],
  accounts: [{ id: 'acme', name: 'Acme Ltd', token: TOKENS.acme }, { id: 'globex', name: 'Globex Corp', token: TOKENS.globex }],
  instances: [instance('iot-sh', 'cn-shanghai', 'acme'), instance('iot-de', 'eu-central-1', 'acme'), instance('iot-gx', 'eu-central-1', 'globex')]
})
// As `homing up` opens it: the cap comes from the config.
const store = await openStore(config)
t.teardown(async () => {
  await store.close()
  await dropPrefix(keyPrefix)
})
const nodes = new Map<string, BrokerNode>()
for (const id of ['iot-sh', 'iot-de', 'iot-gx']) nodes.set(id, await startBrokerNode({ config, instanceId: id, store, nodeId: `tl-${id}` }))
const ts = await startTestSidecar(store, config, { jobs: true })
const clients: MqttClient[] = []
t.teardown(async () => {
  for (const c of clients) c.end(true)
  await ts.close()
  for (const node of nodes.values()) await node.close()
})
const acme = apiClient(ts.url, TOKENS.acme)
const globex = apiClient(ts.url, TOKENS.globex)
const port = (id: string): number => nodes.get(id)?.ports.mqtt ?? 0

const PK = 'a1Timeline1'
await acme('POST', '/products', { instanceId: 'iot-sh', name: 'Lamp', productKey: PK })
const certs = (await acme('POST', `/products/${PK}/devices`, { instanceId: 'iot-sh', deviceNames: ['lamp-0001', 'lamp-0002', 'lamp-0003'] })).json.certificates as Certificate[]
const cert = (dn: string): Certificate => certs.find(c => c.deviceName === dn) as Certificate

interface Event { kind: string, [field: string]: unknown }
const events = async (dn: string, client = acme, query = ''): Promise<ApiAnswer> => client('GET', `/products/${PK}/devices/${dn}/events${query}`)
/** Oldest first, as a reader tells the story. */
const story = async (dn: string, client = acme): Promise<Event[]> => ((await events(dn, client)).json.events as Event[]).slice().reverse()

/** Online at `from`; answers the notify as the Link SDK does, and once disconnected connects at `to`. */
async function roaming (dn: string, from: string, to: string): Promise<{ back: Promise<MqttClient> }> {
  const client = await connectDevice(port(from), cert(dn))
  clients.push(client)
  client.on('message', (topic, payload) => {
    if (topic === `/sys/${PK}/${dn}/thing/bootstrap/notify`) client.publish(`${topic}_reply`, notifyReplyPayload(messageId(payload) ?? ''))
  })
  const back = new Promise<MqttClient>((resolve, reject) => {
    client.once('close', () => {
      connectDevice(port(to), cert(dn)).then(c => { clients.push(c); resolve(c) }, reject)
    })
  })
  back.catch(() => {})
  return { back }
}

async function distributed (res: ApiAnswer): Promise<string> {
  if (res.status !== 202) throw new Error(`job refused: ${res.text}`)
  const id = res.json.jobId as string
  await eventually(async () => (await acme('GET', `/distribution/jobs/${id}`)).json.status === 'distributed', `job ${id} to end distributed`)
  return id
}

let jobId = ''
let atDe: MqttClient | undefined

t.test('bootstrapped, connected, moved while online: the timeline tells it in order', async t => {
  const res = await fetch(`${ts.url}/auth/bootstrap`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `productKey=${PK}&deviceName=lamp-0001&clientId=${PK}.lamp-0001`
  })
  t.equal(res.status, 200, 'the bootstrap answers')
  const { back } = await roaming('lamp-0001', 'iot-sh', 'iot-de')
  jobId = await distributed(await acme('POST', '/distribution/jobs', {
    method: 'this-account', policy: 'region', sourceInstanceId: 'iot-sh', targetInstanceId: 'iot-de', productKey: PK, deviceNames: ['lamp-0001']
  }))
  atDe = await within(10_000, back, 'lamp-0001 to connect at iot-de')
  await eventually(async () => (await story('lamp-0001')).length >= 8, 'the reconnect at iot-de in the timeline')
  const told = await story('lamp-0001')
  t.same(told.map(e => e.kind), ['created', 'bootstrapped', 'connected', 'moved', 'notified', 'answered', 'disconnected', 'connected'], 'in the order it happened')
  const [created, bootstrapped, connected, moved, notified, answered, disconnected, reconnected] = told
  t.match(created, { instanceId: 'iot-sh' })
  t.match(bootstrapped, { instanceId: 'iot-sh', region: 'cn-shanghai', address: '127.0.0.1', endpoint: { host: 'mqtt.iot-sh.test', port: 1883 } }, 'from which address, and where it was sent')
  t.match(connected, { instanceId: 'iot-sh', nodeId: 'tl-iot-sh', address: '127.0.0.1', transport: 'mqtt', sdk: 'other', sdkVersion: null }, 'at which node, from which address, how (this client names no SDK)')
  t.match(moved, { jobId, from: 'iot-sh', to: 'iot-de' })
  t.match(notified, { instanceId: 'iot-sh', nodeId: 'tl-iot-sh' })
  t.match(answered, { instanceId: 'iot-sh' })
  t.match(disconnected, { instanceId: 'iot-sh', reason: 'kicked' })
  t.match(reconnected, { instanceId: 'iot-de', nodeId: 'tl-iot-de', address: '127.0.0.1' })
  t.ok(told.every((e, i) => i === 0 || (e.at as number) >= (told[i - 1]?.at as number)), 'their times agree with their order')
  const answer = await events('lamp-0001')
  t.ok(deviceEventsAnswer.safeParse(answer.json).success, 'the answer is what the OpenAPI document describes')
})

t.test('disabled while online, enabled, a clean DISCONNECT: each with its reason; ?limit= answers the newest', async t => {
  t.equal((await acme('POST', `/products/${PK}/devices/lamp-0001/disable`)).status, 200)
  await eventually(async () => (await story('lamp-0001')).at(-1)?.kind === 'disconnected', 'the disabled device to be disconnected')
  t.equal((await acme('POST', `/products/${PK}/devices/lamp-0001/enable`)).status, 200)
  t.equal((await acme('PUT', `/products/${PK}/devices/lamp-0001/tags`, { room: 'hall' })).status, 200)
  const again = await connectDevice(port('iot-de'), cert('lamp-0001'))
  await again.endAsync()
  await eventually(async () => (await story('lamp-0001')).at(-1)?.reason === 'client', 'the clean disconnect in the timeline')
  const newest = await events('lamp-0001', acme, '?limit=6')
  t.equal(newest.status, 200)
  t.same((newest.json.events as Event[]).map(e => e.reason === undefined ? e.kind : `${e.kind}:${String(e.reason)}`),
    ['disconnected:client', 'connected', 'tags', 'enabled', 'disconnected:disabled', 'disabled'], 'newest first')
  t.match((newest.json.events as Event[])[2], { kind: 'tags', count: 1, instanceId: 'iot-de' })
  t.equal(atDe?.connected, false, 'the connection the disable cut is closed')
  t.equal((await events('lamp-0001', acme, '?limit=0')).status, 400, 'a limit is at least 1')
})

t.test(`the registry keeps the last ${KEPT} events of a device`, async t => {
  const before = await story('lamp-0001')
  t.ok(before.length < KEPT, `${before.length} events so far`)
  const since = Date.now()
  for (let i = 0; i < 4; i++) await (await connectDevice(port('iot-de'), cert('lamp-0001'))).endAsync()
  await eventually(async () => (await story('lamp-0001')).filter(e => (e.at as number) >= since).length === 8, 'the four connections in the timeline', { ms: 10_000 })
  const kept = await story('lamp-0001')
  t.equal(kept.length, KEPT, `${before.length + 8} events written, ${KEPT} kept`)
  t.same(kept.slice(-2).map(e => e.kind), ['connected', 'disconnected'], 'the newest are kept')
  t.notOk(kept.some(e => e.kind === 'created' || e.kind === 'bootstrapped'), 'the oldest are gone')
  t.equal((await events('lamp-0001', acme, '?limit=5000')).json.events.length, KEPT)
})

t.test('a newer connection replaces the older one; a silent one times out: each disconnect says so', async t => {
  const older = await connectDevice(port('iot-de'), cert('lamp-0001'))
  clients.push(older)
  const newer = await connectDevice(port('iot-de'), cert('lamp-0001'))
  clients.push(newer)
  await eventually(async () => (await story('lamp-0001')).at(-1)?.reason === 'replaced', 'the older connection to be replaced')
  await newer.endAsync()
  await eventually(async () => (await story('lamp-0001')).at(-1)?.reason === 'client', 'the newer one to leave')
  // keepalive 1 s, then nothing more on the wire: the node closes it after 1.5 s ([MQTT-3.1.2-24]).
  const silent = await connectDevice(port('iot-de'), cert('lamp-0001'), { keepalive: 1 })
  clients.push(silent)
  ;(silent.stream as unknown as { write: () => boolean }).write = () => true
  // mqtt.js would give up on its own unanswered PINGREQ after the same 1.5 s and close the socket
  // first now and then (a plain close, not a timeout): this client keeps no keepalive of its own.
  ;(silent as unknown as { _destroyKeepaliveManager: () => void })._destroyKeepaliveManager()
  await eventually(async () => (await story('lamp-0001')).at(-1)?.reason === 'timeout', 'the silent connection to time out', { ms: 10_000 })
  t.same((await story('lamp-0001')).slice(-6).map(e => e.reason === undefined ? e.kind : `${e.kind}:${String(e.reason)}`),
    ['connected', 'connected', 'disconnected:replaced', 'disconnected:client', 'connected', 'disconnected:timeout'])
})

t.test('nearest access: moved to no instance yet, then placed by its first bootstrap', async t => {
  const nearest = await distributed(await acme('POST', '/distribution/jobs', {
    method: 'this-account',
    policy: 'nearest',
    sourceInstanceId: 'iot-sh',
    productKey: PK,
    deviceNames: ['lamp-0003'],
    targets: [{ region: 'eu-central-1', instanceId: 'iot-de' }, { region: 'cn-shanghai', instanceId: 'iot-sh' }]
  }))
  const res = await fetch(`${ts.url}/auth/bootstrap`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `productKey=${PK}&deviceName=lamp-0003` })
  t.equal(res.status, 200)
  await eventually(async () => (await story('lamp-0003')).length === 4, 'the placement and the bootstrap in the timeline')
  const [created, moved, placed, bootstrapped] = await story('lamp-0003')
  t.match(created, { kind: 'created', instanceId: 'iot-sh' })
  t.match(moved, { kind: 'moved', jobId: nearest, from: 'iot-sh', to: null }, 'a nearest job names no destination')
  t.match(placed, { kind: 'placed', instanceId: 'iot-de', region: 'eu-central-1', address: '127.0.0.1', fallback: true, jobId: nearest }, '127.0.0.1 has no location: the job\'s first target')
  t.match(bootstrapped, { kind: 'bootstrapped', instanceId: 'iot-de', address: '127.0.0.1', endpoint: { host: 'mqtt.iot-de.test' } })
})

t.test('after a cross-account move, the other account sees no instance or job of acme', async t => {
  await acme('POST', '/distribution/verification-codes', { targetAccount: 'globex' })
  const [code] = (await globex('GET', '/distribution/verification-codes')).json.codes
  const { back } = await roaming('lamp-0002', 'iot-sh', 'iot-gx')
  const cross = await distributed(await acme('POST', '/distribution/jobs', {
    method: 'cross-account', policy: 'region', sourceInstanceId: 'iot-sh', productKey: PK, deviceNames: ['lamp-0002'], targetAccount: 'globex', targetInstanceId: 'iot-gx', verificationCode: code.code
  }))
  await within(10_000, back, 'lamp-0002 to connect at iot-gx')
  await eventually(async () => (await story('lamp-0002', globex)).some(e => e.kind === 'connected'), 'the connection at iot-gx in globex\'s timeline')
  const theirs = await events('lamp-0002', globex)
  t.equal(theirs.status, 200)
  t.same((theirs.json.events as Event[]).slice().reverse().map(e => e.kind), ['moved', 'connected'], 'only the move in and what happened at iot-gx')
  t.same((theirs.json.events as Event[])[1], { kind: 'moved', at: (theirs.json.events as Event[])[1]?.at, to: 'iot-gx' }, 'the move names only globex\'s side')
  for (const name of ['iot-sh', 'iot-de', 'tl-iot-sh', jobId, cross]) t.notOk(theirs.text.includes(name), `globex's timeline does not name ${name}`)
  t.equal((await events('lamp-0002')).status, 404, 'acme no longer sees the device')
})
