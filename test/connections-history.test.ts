// Connections over time (docs/operations.md, "Connections over time"): two real broker nodes of one
// instance write their connection counts into a real Redis registry; GET /instances/:id/connections
// sums them per step, shows mqtt.js devices arriving and leaving, drops a node that stopped
// reporting, and answers 404 to another account.
import type { MqttClient } from 'mqtt'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { parseConfig } from '../shared/config.js'
import { connectDevice, makeDevices } from './helpers/broker.js'
import { REDIS_URL } from './helpers/redis.js'
import { openTestRegistry } from './helpers/registry.js'
import { apiClient, startTestSidecar, TOKENS } from './helpers/test-sidecar.js'
import { eventually } from './helpers/wait.js'

const SAMPLE_MS = 200
const { keyPrefix, store } = await openTestRegistry(t, 'conn-history')
const config = parseConfig({
  redis: REDIS_URL,
  keyPrefix,
  bootstrap: { host: '127.0.0.1', port: 0 },
  broker: { connectionSampleMs: SAMPLE_MS },
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: TOKENS.acme }, { id: 'globex', name: 'Globex', token: TOKENS.globex }],
  instances: [
    { id: 'a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1884 }, listen: { host: '127.0.0.1', mqtt: 0 } },
    { id: 'g', region: 'r1', account: 'globex', endpoint: { host: '127.0.0.1', port: 1885 } }
  ]
})
const sidecar = await startTestSidecar(store, config)
const node1 = await startBrokerNode({ config, instanceId: 'a', nodeId: 'a-node-1' })
const node2 = await startBrokerNode({ config, instanceId: 'a', nodeId: 'a-node-2' })
const clients: MqttClient[] = []
t.teardown(async () => {
  for (const c of clients) c.end(true)
  await node1.close()
  await node2.close()
  await sidecar.close()
})
const acme = apiClient(sidecar.url, TOKENS.acme)
const globex = apiClient(sidecar.url, TOKENS.globex)

interface History {
  stepSeconds: number
  points: { at: number, connections: number | null }[]
  nodes: { nodeId: string, connections: number | null, reporting: boolean }[]
}
async function history (): Promise<History> {
  const res = await acme('GET', '/instances/a/connections?minutes=5')
  if (res.status !== 200) throw new Error(`${res.status} ${res.text}`)
  return res.json as History
}
let last: History | null = null
/** Waits until the newest point of the history shows `n` connections. */
async function newestIs (n: number): Promise<History> {
  await eventually(async () => (last = await history()).points.at(-1)?.connections === n, () => `the newest point to show ${n} connections (history: ${JSON.stringify(last?.points.slice(-5))}, nodes: ${JSON.stringify(last?.nodes)})`, { ms: 10_000, every: 200 })
  return last as unknown as History
}

const certs = await makeDevices(store, 'a1connHist', ['d1', 'd2', 'd3', 'd4', 'd5'], 'a')

t.test('devices connected to two nodes are summed in the newest point', async t => {
  const before = await newestIs(0)
  t.equal(before.stepSeconds, 1, 'five minutes in steps of a second')
  t.ok(before.points.length >= 290 && before.points.length <= 301, `one point per step over the window (${before.points.length})`)
  for (const [i, cert] of certs.entries()) clients.push(await connectDevice(i < 3 ? node1.ports.mqtt : node2.ports.mqtt, cert, { reconnectPeriod: 0 }))
  const now = await newestIs(5)
  t.same(now.nodes.map(n => [n.nodeId, n.connections, n.reporting]), [['a-node-1', 3, true], ['a-node-2', 2, true]], 'each node reports its own')
})

t.test('after two devices disconnect, the history shows the drop after the peak', async t => {
  await Promise.all(clients.slice(0, 2).map(c => c.endAsync()))
  const after = await newestIs(3)
  const values = after.points.map(p => p.connections)
  const peak = values.lastIndexOf(5)
  t.ok(peak >= 0, 'the peak of 5 is still in the history')
  t.ok(values.slice(peak + 1).includes(3), 'followed by 3')
  t.ok(values.slice(0, values.indexOf(5)).includes(0), 'and 0 before the devices came')
})

t.test('a node that stopped reporting counts as gone, not as its last value', async t => {
  // A third node reports 40 as a node does (every interval) until it crashes: no last sample then.
  const report = (): Promise<void> => store.recordConnectionSamples('a', 'a-node-crashed', [{ at: Date.now(), connections: 40 }], 3_600_000)
  await report()
  const reporting = setInterval(() => { void report() }, SAMPLE_MS)
  try {
    await newestIs(43)
  } finally {
    clearInterval(reporting)
  }
  const gone = await newestIs(3)
  t.match(gone.nodes.find(n => n.nodeId === 'a-node-crashed'), { nodeId: 'a-node-crashed', connections: 40, reporting: false })
})

t.test('a node that shuts down writes its last sample (no connections) as it goes', async t => {
  await node2.close()
  const after = await newestIs(1)
  t.match(after.nodes.find(n => n.nodeId === 'a-node-2'), { connections: 0 })
})

t.test('another account, or a bad window, gets nothing', async t => {
  const theirs = await globex('GET', '/instances/a/connections')
  t.equal(theirs.status, 404)
  t.notMatch(theirs.text, /a-node/)
  t.equal((await acme('GET', '/instances/a/connections?minutes=0')).status, 400)
  t.equal((await acme('GET', '/instances/a/connections?minutes=1441')).status, 400)
  t.equal((await acme('GET', '/instances/a/connections?minutes=x')).status, 400)
  t.equal((await globex('GET', '/instances/g/connections')).json.points.every((p: { connections: number | null }) => p.connections === null), true, 'an instance with no node reporting has no data, not zeros')
})
