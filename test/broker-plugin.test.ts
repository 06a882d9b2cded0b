// docs/architecture.md, "Parts": the plugin attaches to an Aedes instance the caller made, next to the caller's own hooks.
import { createServer } from 'node:net'
import { Aedes, type AuthenticateError } from 'aedes'
import t from 'tap'
import { homing } from '../broker/plugin.js'
import { openStore } from '../shared/store/index.js'
import { closed, connackCode, connectDevice, credentials, makeDevices, suback } from './helpers/broker.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { within, WAIT_MS } from './helpers/wait.js'

const keyPrefix = uniquePrefix('plugin')
t.teardown(() => dropPrefix(keyPrefix))

t.test('the README example: an Aedes of the caller, the plugin, a listener', async t => {
  const store = await openStore({ redis: REDIS_URL, keyPrefix })
  const seenSubscriptions: string[] = []
  const theirAuthenticate = (client: { id: string }, _u: unknown, _p: unknown, done: (err: AuthenticateError | null, ok: boolean | null) => void) => {
    if (client.id.startsWith('banned')) return done(Object.assign(new Error('banned'), { returnCode: 5 }) as unknown as AuthenticateError, false)
    done(null, true)
  }
  const aedes = await Aedes.createBroker({
    authenticate: theirAuthenticate,
    authorizePublish: (_client, packet, done) => done(packet.topic.endsWith('/forbidden') ? new Error('not here') : null),
    authorizeSubscribe: (_client, sub, done) => { seenSubscriptions.push(sub.topic); done(null, sub) }
  })
  const plugin = homing(aedes, { instanceId: 'a', nodeId: 'plugin-1', store })
  await plugin.ready
  const server = createServer(aedes.handle)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  t.teardown(async () => {
    server.close()
    await within(WAIT_MS, new Promise<void>(resolve => aedes.close(() => resolve())), 'the Aedes broker to close')
    await plugin.close()
    await store.close()
  })
  const [dev1, dev2] = await makeDevices(store, 'pkP', ['dev1', 'dev2'], 'a')

  t.test('a device connects through the plugin', async t => {
    const client = await connectDevice(port, dev1!)
    t.ok(client.connected)
    t.equal((await store.getDevice('pkP', 'dev1'))?.online?.nodeId, 'plugin-1')
    await client.endAsync()
  })

  t.test("the caller's authenticate decides first; a device it refuses is never marked online", async t => {
    t.equal(await connackCode(port, credentials(dev2!, { id: 'banned-device' })), 5)
    t.equal((await store.getDevice('pkP', 'dev2'))?.online, null)
    t.equal((await store.getDevice('pkP', 'dev2'))?.runtime.a, undefined, 'not activated either')
  })

  t.test("the caller's authorizeSubscribe sees only what passed the fences", async t => {
    const client = await connectDevice(port, dev1!)
    t.teardown(() => client.endAsync())
    t.same(await within(WAIT_MS, suback(client, { '/pkP/dev1/user/#': { qos: 0 }, '/pkP/dev2/user/#': { qos: 0 } }), 'a SUBACK'), [0, 128])
    t.same(seenSubscriptions, ['/pkP/dev1/user/#'])
  })

  t.test("the caller's authorizePublish still applies inside the fences", async t => {
    const client = await connectDevice(port, dev1!)
    const gone = closed(client)
    client.publish('/pkP/dev1/user/forbidden', 'x')
    await within(WAIT_MS, gone, "the broker to close the connection after a PUBLISH the caller's authorizePublish refuses").finally(() => client.end(true))
    t.pass('closed by the caller\'s rule')
  })

  t.test("close() gives the caller's hooks back", async t => {
    const other = await Aedes.createBroker({ authenticate: theirAuthenticate })
    const attached = homing(other, { instanceId: 'a', nodeId: 'plugin-2', store })
    t.not(other.authenticate, theirAuthenticate)
    await attached.close()
    t.equal(other.authenticate, theirAuthenticate)
    await within(WAIT_MS, new Promise<void>(resolve => other.close(() => resolve())), 'the second Aedes broker to close')
  })
})
