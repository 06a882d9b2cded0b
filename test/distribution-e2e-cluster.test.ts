// The whole loop of test/distribution-e2e.test.ts (test/helpers/distribution-loop.ts) with the
// registry on a Redis Cluster of three masters (docs/architecture.md, "Keys and slots") and the
// brokers' cluster parts on a Redis of their own (`broker.redis`, docs/configuration.md, "Redis"),
// both started by the test.
import t from 'tap'
import { distributionLoop } from './helpers/distribution-loop.js'
import { ownCluster } from './helpers/redis-cluster.js'
import { ownRedis } from './helpers/redis-server.js'

const cluster = await ownCluster()
const brokerRedis = await ownRedis()
await brokerRedis.start()

await distributionLoop(t, 'dist-e2e-cluster', {
  redis: { cluster: cluster.urls },
  broker: { redis: brokerRedis.url },
  cleanup: async () => {
    await brokerRedis.remove()
    await cluster.remove()
  }
})
