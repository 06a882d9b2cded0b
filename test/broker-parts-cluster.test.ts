// The brokers' cluster parts and a registry on Redis Cluster (docs/configuration.md, "Redis"): why
// they use `broker.redis`, measured on a Cluster of three masters the test starts, and how a start
// without it, or with an unreachable Cluster, is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Cluster, type Redis } from 'ioredis'
import persistenceRedis from 'aedes-persistence-redis'
import mqemitterRedis from 'mqemitter-redis'
import { ownCluster } from './helpers/redis-cluster.js'
import { startHoming } from './helpers/homing-process.js'
import { within } from './helpers/wait.js'

const cluster = await ownCluster()
const dir = mkdtempSync(join(tmpdir(), 'homing-parts-'))
t.teardown(async () => {
  rmSync(dir, { recursive: true, force: true })
  await cluster.remove()
})
const nodes = cluster.ports.map(port => ({ host: '127.0.0.1', port }))

interface Emitter {
  on: (topic: string, cb: (msg: { topic: string }, done: () => void) => void, ready: () => void) => void
  emit: (msg: { topic: string, payload: string }) => void
  close: (done: () => void) => void
}
const { MQEmitterRedisPrefix } = mqemitterRedis as unknown as { MQEmitterRedisPrefix: new (prefix: string, options: object) => Emitter }

t.test('mqemitter-redis carries messages between nodes over Cluster clients', async t => {
  const clients = [new Cluster(nodes), new Cluster(nodes), new Cluster(nodes), new Cluster(nodes)]
  const [one, two] = [0, 2].map(i => new MQEmitterRedisPrefix('homing:aedes:a:', { subConn: clients[i], pubConn: clients[i + 1], matchEmptyLevels: true }))
  t.teardown(() => { one?.close(() => {}); two?.close(() => {}) })
  const got = await within(5000, new Promise<string>(resolve => {
    two?.on('x/#', (msg, done) => { resolve(msg.topic); done() }, () => setTimeout(() => one?.emit({ topic: 'x/y', payload: 'hi' }), 300))
  }), 'a message from the other emitter')
  t.equal(got, 'x/y')
})

t.test('aedes-persistence-redis cannot keep an instance namespace on a Cluster', async t => {
  // Given our namespaced Cluster client it runs its single-server code: multi-key commands.
  const conn = new Cluster(nodes, { keyPrefix: 'homing:aedes:a:' })
  t.teardown(() => conn.disconnect())
  const persistence = persistenceRedis({ conn: conn as unknown as Redis }) as unknown as {
    outgoingEnqueueCombi: (subs: object[], packet: object) => Promise<void>
  }
  const packet = { cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, length: 1, brokerId: 'b', brokerCounter: 1 }
  await t.rejects(persistence.outgoingEnqueueCombi([{ clientId: 'c1', topic: 'a/#', qos: 1 }, { clientId: 'c2', topic: 'a/#', qos: 1 }], packet),
    /CROSSSLOT/, 'a QoS 1 message to two sessions is refused')
})

const config = (redis: unknown, broker: object = {}): string => {
  const file = join(dir, `homing-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify({
    redis,
    broker,
    regions: [{ id: 'r1', name: 'R1', lat: 1, lon: 1 }],
    accounts: [{ id: 'acme', name: 'Acme', token: 'a-token-of-16-chars-or-more' }],
    instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: '127.0.0.1', port: 1 }, listen: { host: '127.0.0.1', mqtt: 0 } }]
  }))
  return file
}

t.test('homing broker with the registry on a Cluster and no broker.redis: refused, named, exit 2', async t => {
  const broker = startHoming(['broker', '--config', config({ cluster: cluster.urls }), '--instance', 'a'])
  t.teardown(() => broker.kill())
  t.equal(await broker.exit(), 2)
  t.match(broker.stderr(), /broker\.redis: .*Redis Cluster/)
})

t.test('an unreachable Cluster is named in the log at start, without its password', async t => {
  const sidecar = startHoming(['bootstrap', '--config', config({ cluster: ['redis://127.0.0.1:1'], password: 'hunter2' }), '--port', '0'])
  t.teardown(() => sidecar.kill())
  // It keeps trying (a registry may come up after the sidecar), saying where it looks.
  const entry = await sidecar.logged('registry unavailable', () => true, 15_000)
  t.match(entry.reason, /^registry unavailable \(Redis Cluster 127\.0\.0\.1:1\)/)
  t.notMatch(sidecar.output(), /hunter2/)
})
