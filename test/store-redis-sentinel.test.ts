// The registry and the brokers' cluster parts through Sentinel (docs/configuration.md, "Redis"),
// on a master and a sentinel the test starts itself.
import t from 'tap'
import { clusterBackends } from '../broker/cluster.js'
import { silentLogger } from '../shared/log.js'
import { openRedisStore } from '../shared/store/redis.js'
import { ownSentinel } from './helpers/redis-sentinel.js'
import { uniquePrefix } from './helpers/redis.js'
import { within } from './helpers/wait.js'
import { storeContract } from './store.contract.js'

const sentinel = await ownSentinel()
t.teardown(() => sentinel.remove())
const keyPrefix = uniquePrefix('store-sentinel')

storeContract('redis sentinel', () => openRedisStore({ redis: sentinel.target, keyPrefix }))

t.test("the brokers' cluster parts through the same Sentinel group: a message goes from one node to another", async t => {
  const log = silentLogger
  const [one, two] = [0, 1].map(() => clusterBackends({ redis: sentinel.target, keyPrefix, instanceId: 'a', log }))
  t.teardown(async () => {
    for (const b of [one, two]) {
      await new Promise<void>(resolve => b?.mq.close(resolve))
      await b?.destroy()
    }
  })
  const got = await within(5000, new Promise<string>(resolve => {
    two?.mq.on('x/#', (msg, done) => { resolve(msg.topic); done() }, () => {
      setTimeout(() => one?.mq.emit({ topic: 'x/y', payload: 'hi' }), 300)
    })
  }), 'a message from the other node')
  t.equal(got, 'x/y')
})
