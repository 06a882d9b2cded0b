// The `redis` key's three forms and their environment overrides (docs/configuration.md, "Redis").
import t from 'tap'
import { ConfigError, parseConfig } from '../shared/config.js'
import { brokerRedisOf } from '../broker/cluster.js'

const base = () => ({
  regions: [{ id: 'cn-shanghai', name: 'China (Shanghai)', lat: 31.23, lon: 121.47 }],
  accounts: [{ id: 'acme', name: 'Acme Ltd', token: 'a-token-of-16-chars-or-more' }],
  instances: [{ id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: 'mqtt.sh.example.com', port: 1883 }, listen: { host: '0.0.0.0', mqtt: 1883 } }]
})

function errorOf (raw: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(raw, env)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('config was accepted')
}

t.test('a URL, a cluster or a sentinel group', async t => {
  t.equal(parseConfig({ ...base(), redis: 'redis://10.0.0.1:6379/0' }).redis, 'redis://10.0.0.1:6379/0')
  const cluster = { cluster: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'], password: 'pw' }
  t.same(parseConfig({ ...base(), redis: cluster }).redis, cluster)
  const sentinel = { sentinels: ['redis://10.0.0.5:26379'], name: 'mymaster' }
  t.same(parseConfig({ ...base(), redis: sentinel }).redis, sentinel)
})

t.test('a bad form is named at start', async t => {
  t.match(errorOf({ ...base(), redis: { cluster: [] } }), /^redis\.cluster: /)
  t.match(errorOf({ ...base(), redis: { cluster: ['http://10.0.0.1'] } }), /^redis\.cluster\[0\]: a redis:\/\//)
  t.match(errorOf({ ...base(), redis: { sentinels: ['redis://10.0.0.5:26379'] } }), /^redis/, 'a sentinel group needs its name')
  t.match(errorOf({ ...base(), redis: { cluster: ['redis://a:1'], extra: 1 } }), /^redis/)
  t.match(errorOf({ ...base(), redis: 'localhost:6379' }), /^redis/)
})

t.test('environment overrides: REDIS_CLUSTER, REDIS_SENTINELS with REDIS_SENTINEL_NAME, REDIS_PASSWORD', async t => {
  t.same(parseConfig({ ...base(), redis: 'redis://x:1' }, { REDIS_CLUSTER: 'redis://10.0.0.1:6379, redis://10.0.0.2:6379', REDIS_PASSWORD: 'pw' }).redis,
    { cluster: ['redis://10.0.0.1:6379', 'redis://10.0.0.2:6379'], password: 'pw' })
  t.same(parseConfig(base(), { REDIS_SENTINELS: 'redis://10.0.0.5:26379', REDIS_SENTINEL_NAME: 'mymaster' }).redis,
    { sentinels: ['redis://10.0.0.5:26379'], name: 'mymaster' })
  t.match(errorOf(base(), { REDIS_SENTINELS: 'redis://10.0.0.5:26379' }), /^redis/, 'without a name it is refused')
  t.same(parseConfig({ ...base(), redis: { cluster: ['redis://a:1'] } }, { REDIS_PASSWORD: 'from-env' }).redis, { cluster: ['redis://a:1'], password: 'from-env' })
  t.equal(parseConfig({ ...base(), redis: 'redis://a:1' }, { REDIS_PASSWORD: 'ignored' }).redis, 'redis://a:1', 'a URL carries its own password')
})

t.test("the broker's cluster parts: broker.redis, else a URL or sentinel registry, never a Cluster", async t => {
  t.equal(brokerRedisOf(parseConfig({ ...base(), redis: 'redis://a:1' })), 'redis://a:1')
  t.equal(brokerRedisOf(parseConfig({ ...base(), redis: { cluster: ['redis://a:1'] } })), undefined)
  t.equal(brokerRedisOf(parseConfig({ ...base(), redis: { cluster: ['redis://a:1'] }, broker: { redis: 'redis://b:2' } })), 'redis://b:2')
  t.match(errorOf({ ...base(), broker: { redis: { cluster: ['redis://a:1'] } } }), /^broker\.redis/)
})
