import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig, parseConfig, Topology } from '../shared/config.js'
import { SHANGHAI } from './helpers/regions.js'

const valid = () => ({
  redis: 'redis://127.0.0.1:6379/0',
  regions: [SHANGHAI],
  accounts: [{ id: 'acme', name: 'Acme Ltd', token: 'a-token-of-16-chars-or-more' }],
  instances: [{ id: 'iot-sh-1', region: 'cn-shanghai', account: 'acme', endpoint: { host: 'mqtt.sh.example.com', port: 1883 }, listen: { host: '0.0.0.0', mqtt: 1883 } }]
})

function errorOf (raw: unknown): string {
  try {
    parseConfig(raw)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error('config was accepted')
}

t.test('the documented example config is accepted, with defaults filled in', async t => {
  const config = parseConfig(valid())
  t.equal(config.keyPrefix, 'homing:')
  t.equal(config.bootstrap.port, 8080)
  t.equal(config.bootstrap.trustProxy, false)
  t.equal(config.broker.notifyTimeoutMs, 2000)
  t.equal(config.instances[0]?.listen.mqtt, 1883)
})

t.test('bootstrap.keepAlive: nothing kept open for proxies by default, and bounded', async t => {
  const { keepAlive } = parseConfig(valid()).bootstrap
  t.same(keepAlive, { proxies: [], idleSeconds: 5, maxRequests: 100 })
  const set = parseConfig({ ...valid(), bootstrap: { keepAlive: { proxies: ['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1'], idleSeconds: 65 } } }).bootstrap.keepAlive
  t.same(set, { proxies: ['10.0.0.0/8', '192.0.2.7', 'fd00::/8', '::1'], idleSeconds: 65, maxRequests: 100 }, 'given keys kept, the others defaulted')
})

t.test('bootstrap.keepAlive: a proxy that is not an address or a block, and bounds out of range, are named', async t => {
  const message = errorOf({ ...valid(), bootstrap: { keepAlive: { proxies: ['10.0.0.1', 'lb.example.com', '10.0.0.0/33'], idleSeconds: 0, maxRequests: 0, idle: 5 } } })
  t.match(message, /^bootstrap\.keepAlive\.proxies\[1\]: an IP address or a CIDR block/m)
  t.match(message, /^bootstrap\.keepAlive\.proxies\[2\]: an IP address or a CIDR block/m)
  t.notMatch(message, /proxies\[0\]/, 'a plain address is fine')
  t.match(message, /^bootstrap\.keepAlive\.idleSeconds: /m)
  t.match(message, /^bootstrap\.keepAlive\.maxRequests: /m)
  t.match(message, /bootstrap\.keepAlive: Unrecognized key: "idle"/)
})

t.test('no redis means the memory store', async t => {
  const { redis: _redis, ...raw } = valid()
  t.equal(parseConfig(valid()).redis, 'redis://127.0.0.1:6379/0', 'with the key: that Redis')
  t.equal(parseConfig(raw).redis, undefined, 'without it: no Redis, the memory store')
})

t.test('a bad field is named with its path', async t => {
  const raw = valid()
  raw.instances[0]!.region = 'mars-north-1'
  t.equal(errorOf(raw), 'instances[0].region: unknown region "mars-north-1"')
  t.match(errorOf({ ...valid(), instances: [{ ...valid().instances[0], account: 'nobody' }] }), /^instances\[0\]\.account: unknown account "nobody"$/m)
  t.match(errorOf({ ...valid(), instances: [{ ...valid().instances[0], endpoint: { host: 'x', port: 70000 } }] }), /^instances\[0\]\.endpoint\.port: /m)
  t.match(errorOf({ ...valid(), regions: [{ id: 'r', name: 'R', lat: 91, lon: 0 }] }), /^regions\[0\]\.lat: /m)
  t.match(errorOf({ ...valid(), accounts: [{ id: 'acme', name: 'A', token: 'short' }] }), /^accounts\[0\]\.token: at least 16 characters/m)
  t.match(errorOf({ ...valid(), redis: 'http://x' }), /^redis: a redis:\/\/ or rediss:\/\/ URL/m)
  t.match(errorOf({ ...valid(), colour: 'blue' }), /colour/)
  t.match(errorOf({ ...valid(), instances: [valid().instances[0], valid().instances[0]] }), /^instances\[1\]\.id: duplicate id "iot-sh-1"$/m)
  t.match(errorOf({ ...valid(), instances: [{ ...valid().instances[0], listen: { host: '0.0.0.0', mqtts: 8883 } }] }), /^instances\[0\]\.listen\.mqtts: needs the top-level "tls" block$/m)
  t.match(errorOf([]), /must be a JSON object/)
})

t.test('every bad field is reported, not only the first', async t => {
  const raw = valid()
  raw.instances[0]!.region = 'nowhere'
  raw.instances[0]!.account = 'nobody'
  const message = errorOf(raw)
  t.match(message, /instances\[0\]\.region/)
  t.match(message, /instances\[0\]\.account/)
})

t.test('the environment overrides the file for deployment', async t => {
  const config = parseConfig(valid(), {
    REDIS_URL: 'redis://redis:6379/1',
    KEY_PREFIX: 'prod:',
    BOOTSTRAP_PORT: '9090',
    HOMING_TOKEN_ACME: 'token-from-the-environment'
  })
  t.equal(config.redis, 'redis://redis:6379/1')
  t.equal(config.keyPrefix, 'prod:')
  t.equal(config.bootstrap.port, 9090)
  t.equal(config.accounts[0]?.token, 'token-from-the-environment')
})

t.test('loadConfig names the file when it is missing or not JSON', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'homing-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bad = join(dir, 'bad.json')
  writeFileSync(bad, '{ "regions": ')
  t.throws(() => loadConfig(join(dir, 'missing.json'), {}), { name: 'ConfigError', message: /missing\.json: cannot read \(ENOENT\)/ })
  t.throws(() => loadConfig(bad, {}), { name: 'ConfigError', message: /bad\.json: not valid JSON/ })
  const good = join(dir, 'good.json')
  writeFileSync(good, JSON.stringify(valid()))
  t.equal(loadConfig(good, {}).instances.length, 1)
})

t.test('the bundled demo config is valid', async t => {
  const config = loadConfig(new URL('../docker/demo.json', import.meta.url).pathname, {})
  t.equal(config.redis, undefined, 'the demo runs on the memory store')
  t.ok(config.instances.every(i => i.listen.mqtt !== 1883), 'it stays off the machine\'s Mosquitto port')
})

t.test('topology lookups: accounts by id or name, instances per account', async t => {
  const topology = new Topology(parseConfig(valid()))
  t.equal(topology.account('acme')?.id, 'acme')
  t.equal(topology.account('Acme Ltd')?.id, 'acme')
  t.equal(topology.account('nobody'), undefined)
  t.same(topology.instancesOf('acme').map(i => i.id), ['iot-sh-1'])
  t.equal(topology.instance('iot-sh-1')?.region, 'cn-shanghai')
})

t.test('the config docker/compose.yml mounts is valid, with its secrets from the environment', async t => {
  const config = loadConfig(new URL('../docker/compose.json', import.meta.url).pathname, { HOMING_TOKEN_ACME: 'a-secret-token-from-compose-env' })
  t.equal(config.accounts[0]?.token, 'a-secret-token-from-compose-env')
  t.same(config.instances.map(i => i.id), ['iot-a', 'iot-b'])
  t.ok(config.instances.every(i => i.listen.http !== undefined), 'every broker has a health port for the load balancer')
})
