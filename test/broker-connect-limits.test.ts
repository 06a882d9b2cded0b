// docs/operations.md, "Hardening": failed CONNECTs are limited per device and per client address.
// Past the limit the CONNECT is refused with 3 (retry later) before the registry is read, for a short
// lockout only; refusals are logged once per key per window with a count, not one line each.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { startBrokerNode } from '../broker/node.js'
import { Metrics } from '../shared/metrics/metrics.js'
import { brokerConfig, connackCode, credentials, makeDevices } from './helpers/broker.js'
import { openTestRegistry } from './helpers/registry.js'

const { keyPrefix, store } = await openTestRegistry(t, 'connect-limits')
const config = brokerConfig(keyPrefix, {
  broker: { connectFailuresPerDevice: 3, connectFailuresPerAddress: 1000, connectFailureWindowSec: 60, connectLockoutSec: 1 }
})
const byAddress = brokerConfig(keyPrefix, {
  broker: { connectFailuresPerDevice: 1000, connectFailuresPerAddress: 5, connectFailureWindowSec: 60, connectLockoutSec: 1 }
})
const lines: Record<string, unknown>[] = []
const sink = new Writable({
  write (chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
    done()
  }
})
const log = pino({ level: 'info' }, sink)
const metrics = new Metrics({ defaults: false })
const node = await startBrokerNode({ config, instanceId: 'a', store, nodeId: 'climits-a1', metrics, log })
const addressNode = await startBrokerNode({ config: byAddress, instanceId: 'a', store, nodeId: 'climits-a2', metrics })
t.teardown(async () => {
  await addressNode.close()
})
const devices = await makeDevices(store, 'pkC', ['victim', 'bystander', 'noisy'], 'a')
const cert = (name: string) => devices.find(d => d.deviceName === name)!

async function lockouts (scope: string): Promise<number> {
  const text = await metrics.render()
  const line = text.split('\n').find(l => l.startsWith('homing_mqtt_connect_lockouts_total{') && l.includes(`scope="${scope}"`))
  return line === undefined ? 0 : Number(line.split(' ').pop())
}

t.test('a device with too many bad signatures is refused with 3, briefly; then it gets in', async t => {
  for (let i = 0; i < 3; i++) t.equal(await connackCode(node.ports.mqtt, credentials(cert('victim'), { secret: 'wrong' })), 4, `bad signature ${i + 1}: 4`)
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('victim'), { secret: 'wrong' })), 3, 'the fourth bad one: 3')
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('victim'))), 3, 'the right secret during the lockout: 3 (retry later)')
  t.ok(await lockouts('device') >= 2, 'lockouts counted by scope "device"')
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('bystander'))), 0, 'another device from the same address is not affected')
  await new Promise(resolve => setTimeout(resolve, 1300))
  t.equal(await connackCode(node.ports.mqtt, credentials(cert('victim'))), 0, 'after the 1 s lockout the device connects')
})

t.test('an address with too many failures is refused with 3 for every device, briefly', async t => {
  for (let i = 0; i < 5; i++) t.equal(await connackCode(addressNode.ports.mqtt, { clientId: `garbage-${i}`, username: 'x', password: 'y' }), 2, `bad identity ${i + 1}: 2`)
  t.equal(await connackCode(addressNode.ports.mqtt, credentials(cert('bystander'))), 3, 'a good device from that address: 3')
  t.ok(await lockouts('address') >= 1, 'counted by scope "address"')
  await new Promise(resolve => setTimeout(resolve, 1300))
  t.equal(await connackCode(addressNode.ports.mqtt, credentials(cert('bystander'))), 0, 'after the lockout it connects')
})

t.test('twenty refusals of one device are two log lines: the first, then one with the count', async t => {
  const before = lines.length
  for (let i = 0; i < 20; i++) await connackCode(node.ports.mqtt, { ...credentials(cert('noisy')), username: 'noisy&pkC', clientId: 'pkC.noisy|securemode=3|', password: 'bad' })
  const during = lines.slice(before).filter(l => l.msg === 'connection refused' && l.deviceName === 'noisy')
  t.equal(during.length, 2, 'one line for the first 4, one for the first 3 of the lockout (the rest are counted)')
  t.notOk(JSON.stringify(lines).includes('"password"'), 'no password field in the log')
  await node.close() // flushes the window
  const repeated = lines.filter(l => l.msg === 'connection refused (repeated)' && l.deviceName === 'noisy')
  const total = repeated.reduce((sum, l) => sum + Number(l.repeated), 0)
  t.equal(total, 18, 'the other 18 refusals are counted in the summary lines')
  t.ok(repeated.length <= 2, 'at most one summary line per key')
})
