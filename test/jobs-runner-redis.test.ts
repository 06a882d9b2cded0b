import t from 'tap'
import { openRedisStore } from '../shared/store/redis.js'
import { dropPrefix, REDIS_URL, uniquePrefix } from './helpers/redis.js'
import { runnerContract } from './jobs-runner.contract.js'

const keyPrefix = uniquePrefix('jobs-runner')
t.teardown(() => dropPrefix(keyPrefix))

runnerContract('redis', () => openRedisStore({ url: REDIS_URL, keyPrefix }))
