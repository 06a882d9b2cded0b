// The whole loop with separate processes over the real Redis (test/helpers/distribution-loop.ts):
// devices online at both nodes of iot-a are moved to iot-b by one job, notified, disconnected, and
// come back at iot-b through the bootstrap; the records CSV says what happened to each.
import t from 'tap'
import { distributionLoop } from './helpers/distribution-loop.js'
import { dropPrefix, REDIS_URL } from './helpers/redis.js'

await distributionLoop(t, 'dist-e2e', { redis: REDIS_URL, cleanup: keyPrefix => dropPrefix(keyPrefix) })
