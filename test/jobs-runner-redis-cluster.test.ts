// The job runner (lease, batches, move events) on a Redis Cluster of three masters the test starts itself.
import t from 'tap'
import { openRedisStore } from '../shared/store/redis.js'
import { ownCluster } from './helpers/redis-cluster.js'
import { uniquePrefix } from './helpers/redis.js'
import { runnerContract } from './jobs-runner.contract.js'

const cluster = await ownCluster()
t.teardown(() => cluster.remove())
const keyPrefix = uniquePrefix('jobs-runner-cluster')

runnerContract('redis cluster', () => openRedisStore({ redis: { cluster: cluster.urls }, keyPrefix }))
