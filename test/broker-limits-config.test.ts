// The broker.* limit keys (docs/configuration.md): defaults for a Link SDK fleet, and combinations
// that cannot work refused at start with the key named.
import t from 'tap'
import { BROKER_LIMIT_DEFAULTS, ConfigError, parseConfig } from '../shared/config.js'

const base = {
  regions: [{ id: 'r1', name: 'One', lat: 0, lon: 0 }],
  accounts: [{ id: 'acme', name: 'Acme', token: 'limits-token-0123456789' }],
  instances: [{ id: 'a', region: 'r1', account: 'acme', endpoint: { host: 'localhost', port: 1883 } }]
}

t.test('defaults: a 256 KiB payload fits a packet, a packet fits the outgoing queue', async t => {
  const { broker } = parseConfig(base)
  t.match(broker, BROKER_LIMIT_DEFAULTS, 'every limit has its default')
  t.ok(broker.maxPayloadBytes <= broker.maxPacketBytes)
  t.ok(broker.maxPacketBytes <= broker.outgoingQueueBytes)
  t.ok(broker.preAuthMaxBytes < broker.maxPacketBytes, 'the pre-auth budget is the smaller one')
})

t.test('combinations that cannot work are refused with the key named', async t => {
  t.throws(() => parseConfig({ ...base, broker: { maxPayloadBytes: 300_000 } }), new ConfigError('broker.maxPayloadBytes: greater than maxPacketBytes'))
  t.throws(() => parseConfig({ ...base, broker: { outgoingQueueBytes: 100_000 } }), new ConfigError('broker.outgoingQueueBytes: smaller than maxPacketBytes'))
  t.throws(() => parseConfig({ ...base, broker: { maxPacketBytes: 512 * 1024 * 1024 } }), /broker\.maxPacketBytes/)
  t.throws(() => parseConfig({ ...base, broker: { connectLockoutSec: 0 } }), /broker\.connectLockoutSec/)
})
